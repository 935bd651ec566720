using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>A normalization layer with fixed weights.</summary>
public interface INormalization : IDisposable
{
    /// <summary>Normalizes the last dimension of <paramref name="x"/>.</summary>
    torch.Tensor Apply(torch.Tensor x);
}
