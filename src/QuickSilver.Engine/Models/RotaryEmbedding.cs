using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>Rotary position embedding in rotate-half order (HF Llama): pairs (i, i + hs/2) of each head rotate together.</summary>
public sealed class RotaryEmbedding : IPositionRotation
{
    private readonly torch.Tensor _cos; // (P, hs)
    private readonly torch.Tensor _sin; // (P, hs)
    private readonly long _half;

    /// <summary>Precomputes cos/sin tables for <paramref name="maxPositions"/> positions.</summary>
    /// <param name="headDim">Width of one head (all of it rotates).</param>
    /// <param name="maxPositions">Positions the tables cover; also picks longrope's short or long factors.</param>
    /// <param name="theta">RoPE base.</param>
    /// <param name="device">Where the tables live.</param>
    /// <param name="scaling">Frequency scaling, or null for plain RoPE.</param>
    public RotaryEmbedding(int headDim, int maxPositions, double theta, torch.Device device, RopeScaling? scaling = null)
    {
        _half = headDim / 2;
        using var scope = torch.NewDisposeScope();
        // Frequencies in float64, then cast: float32 pow drifts by ~1e-6 at long positions.
        var inv = torch.pow(theta, -torch.arange(0, headDim, 2, dtype: torch.float64) / headDim); // (hs/2)
        if (scaling?.FactorsFor(maxPositions) is { } factors)
            inv = inv / torch.tensor(factors.Select(f => (double)f).ToArray(), torch.float64);
        var pos = torch.arange(maxPositions, dtype: torch.float64) * (scaling?.PositionScale ?? 1.0); // (P)
        var angles = torch.outer(pos, inv); // (P, hs/2)
        var both = torch.cat([angles, angles], 1); // (P, hs)
        double magnitude = scaling?.AttentionFactor ?? 1.0;
        _cos = (both.cos() * magnitude).to(torch.float32).to(device).DetachFromDisposeScope();
        _sin = (both.sin() * magnitude).to(torch.float32).to(device).DetachFromDisposeScope();
    }

    /// <inheritdoc />
    public torch.Tensor Apply(torch.Tensor x, torch.Tensor positions)
    {
        using var scope = torch.NewDisposeScope();
        var cos = _cos.index_select(0, positions).unsqueeze(1); // (T, 1, hs)
        var sin = _sin.index_select(0, positions).unsqueeze(1); // (T, 1, hs)
        var first = x.narrow(-1, 0, _half);
        var second = x.narrow(-1, _half, _half);
        var rotated = torch.cat([-second, first], -1); // rotate_half(x)
        return (x * cos + rotated * sin).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _cos.Dispose();
        _sin.Dispose();
    }
}
