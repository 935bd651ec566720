using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>The MLP of a block.</summary>
public interface IFeedForward : IDisposable
{
    /// <summary>Applies the MLP to normalized input (…, d).</summary>
    torch.Tensor Apply(torch.Tensor x);

    /// <summary>Multiply-accumulate FLOPs per token (2 per MAC).</summary>
    double FlopsPerToken { get; }
}
