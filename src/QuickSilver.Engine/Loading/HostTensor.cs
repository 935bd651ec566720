using QuickSilver.Engine.Kernels;

namespace QuickSilver.Engine.Loading;

/// <summary>
/// A tensor on the host, as a loader produces it: row-major, PyTorch shape order. Either float32 values, or a 2-D weight
/// kept in its ggml blocks (<see cref="Packed"/>), whose <see cref="Data"/> then decodes on each read.
/// </summary>
/// <param name="Name">Canonical name (see <see cref="WeightNames"/>).</param>
/// <param name="Shape">Shape, outermost first.</param>
/// <param name="Data">Row-major float32 values; length equals the product of <paramref name="Shape"/>.</param>
public sealed record HostTensor(string Name, long[] Shape, float[] Data)
{
    private readonly float[] _data = Data;

    /// <summary>A 2-D weight held as ggml blocks; <paramref name="shape"/> is [rows, columns] of <paramref name="packed"/>.</summary>
    public HostTensor(string name, long[] shape, QuantizedMatrix packed) : this(name, shape, Array.Empty<float>())
    {
        ArgumentNullException.ThrowIfNull(packed);
        if (shape.Length != 2 || shape[0] != packed.Rows || shape[1] != packed.Columns)
            throw new ArgumentException($"Shape [{string.Join(", ", shape)}] does not match the packed [{packed.Rows}, {packed.Columns}].", nameof(shape));
        Packed = packed;
    }

    /// <summary>The ggml blocks when the weight is held quantized, else null.</summary>
    public QuantizedMatrix? Packed { get; }

    /// <summary>Row-major float32 values (for a packed weight: decoded afresh on every read, so hold on to the result).</summary>
    public float[] Data
    {
        get => Packed is null ? _data : Packed.Dequantize();
        init => _data = value;
    }

    /// <summary>Number of elements implied by the shape.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}
