using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>
/// Rotary position embedding in rotate-half order (HF Llama): pairs (i, i + r/2) of the leading r = rotated width of each
/// head rotate together; the rest of the head passes through (partial rotary, as Phi-4-mini and GPT-NeoX use it).
/// </summary>
public sealed unsafe class RotaryEmbedding : IPositionRotation, IRowRotation
{
    private readonly torch.Tensor _cos; // (P, hs)
    private readonly torch.Tensor _sin; // (P, hs)
    private readonly long _half;
    private readonly long _rotated;
    private readonly long _positions; // rows of the tables, read once: a tensor's shape is a managed allocation per read

    /// <summary>Precomputes cos/sin tables for <paramref name="maxPositions"/> positions.</summary>
    /// <param name="headDim">Width of one head (all of it rotates).</param>
    /// <param name="maxPositions">Positions the tables cover; also picks longrope's short or long factors.</param>
    /// <param name="theta">RoPE base.</param>
    /// <param name="device">Where the tables live.</param>
    /// <param name="scaling">Frequency scaling, or null for plain RoPE.</param>
    /// <param name="rotaryDim">Leading width of each head that rotates; 0 for all of <paramref name="headDim"/>.</param>
    public RotaryEmbedding(int headDim, int maxPositions, double theta, torch.Device device, RopeScaling? scaling = null, int rotaryDim = 0)
    {
        int r = rotaryDim > 0 ? rotaryDim : headDim;
        _rotated = r;
        _half = r / 2;
        _positions = maxPositions;
        using var scope = torch.NewDisposeScope();
        // Frequencies in float64, then cast: float32 pow drifts by ~1e-6 at long positions.
        var inv = TensorScalars.PowerOf(theta, -TensorScalars.DividedBy(TensorScalars.Range(0, r, 2, torch.float64), r)); // (r/2)
        if (scaling?.FactorsFor(maxPositions) is { } factors)
            inv = inv / torch.tensor(factors.Select(f => (double)f).ToArray(), torch.float64);
        var pos = TensorScalars.Times(TensorScalars.Range(maxPositions, torch.float64), scaling?.PositionScale ?? 1.0); // (P)
        var angles = torch.outer(pos, inv); // (P, r/2)
        var both = torch.cat([angles, angles], 1); // (P, r)
        double magnitude = scaling?.AttentionFactor ?? 1.0;
        _cos = TensorScalars.Times(both.cos(), magnitude).to(torch.float32).to(device).DetachFromDisposeScope();
        _sin = TensorScalars.Times(both.sin(), magnitude).to(torch.float32).to(device).DetachFromDisposeScope();
    }

    /// <inheritdoc />
    public torch.Tensor Apply(torch.Tensor x, torch.Tensor positions)
    {
        using var scope = torch.NewDisposeScope();
        var cos = _cos.index_select(0, positions).unsqueeze(1); // (T, 1, r)
        var sin = _sin.index_select(0, positions).unsqueeze(1); // (T, 1, r)
        long width = x.shape[^1];
        var part = width == _rotated ? x : x.narrow(-1, 0, _rotated); // (B, T, n, r)
        var first = part.narrow(-1, 0, _half);
        var second = part.narrow(-1, _half, _half);
        var rotated = torch.cat([-second, first], -1); // rotate_half(part)
        var result = TensorScalars.Sum(part * cos, rotated * sin);
        if (width != _rotated) result = torch.cat([result, x.narrow(-1, _rotated, width - _rotated)], -1); // (B, T, n, hs)
        return result.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    bool IRowRotation.SupportsRows => Runtime.HostMemory.IsHostFloat32(_cos) && Runtime.HostMemory.IsHostFloat32(_sin);

    /// <inheritdoc />
    void IRowRotation.RotateRow(Span<float> heads, int count, int width, long position)
    {
        if ((ulong)position >= (ulong)_positions) throw new ArgumentOutOfRangeException(nameof(position), $"Position {position} is outside the {_positions} the tables cover.");
        if (_rowCos is null)
        {
            _rowSin = Runtime.HostMemory.Floats(_sin);
            _rowCos = Runtime.HostMemory.Floats(_cos);
        }
        int r = (int)_rotated;
        var cos = new ReadOnlySpan<float>(_rowCos + (position * r), r);
        var sin = new ReadOnlySpan<float>(_rowSin + (position * r), r);
        for (int h = 0; h < count; h++) Kernels.RowOps.RotateHalf(heads.Slice(h * width, width), cos, sin, r);
    }

    private float* _rowCos, _rowSin;

    /// <inheritdoc />
    public void Dispose()
    {
        _cos.Dispose();
        _sin.Dispose();
    }
}
