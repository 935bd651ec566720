using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>No rotation: positions entered through a learned table at the embedding.</summary>
public sealed class NoRotation : IPositionRotation, IRowRotation
{
    /// <inheritdoc />
    public torch.Tensor Apply(torch.Tensor x, torch.Tensor positions) => x.alias();

    /// <inheritdoc />
    bool IRowRotation.SupportsRows => true;

    /// <inheritdoc />
    void IRowRotation.RotateRow(Span<float> heads, int count, int width, long position) { }

    /// <inheritdoc />
    public void Dispose() { }
}
