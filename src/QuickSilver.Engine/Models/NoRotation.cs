using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>No rotation: positions entered through a learned table at the embedding.</summary>
public sealed class NoRotation : IPositionRotation
{
    /// <inheritdoc />
    public torch.Tensor Apply(torch.Tensor x, torch.Tensor positions) => x.alias();

    /// <inheritdoc />
    public void Dispose() { }
}
