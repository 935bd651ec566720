using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>Applies position information to queries and keys inside attention (identity for learned positions).</summary>
public interface IPositionRotation : IDisposable
{
    /// <summary>Rotates <paramref name="x"/> (B, T, nh, hs) by the positions (T) of its tokens.</summary>
    torch.Tensor Apply(torch.Tensor x, torch.Tensor positions);
}
