using QuickSilver.Engine.Kernels;

namespace QuickSilver.Engine.Loading;

/// <summary>
/// A tensor on the host, as a loader produces it: row-major, PyTorch shape order. Either float32 values, or a 2-D weight
/// kept in its ggml blocks (<see cref="Packed"/>), whose <see cref="Data"/> then decodes on each read, or a deferred
/// read of a file slice (<see cref="IsDeferred"/>), which <see cref="CopyTo"/> decodes straight into the caller's memory.
/// </summary>
/// <param name="Name">Canonical name (see <see cref="WeightNames"/>).</param>
/// <param name="Shape">Shape, outermost first.</param>
/// <param name="Data">Row-major float32 values; length equals the product of <paramref name="Shape"/>.</param>
public sealed record HostTensor(string Name, long[] Shape, float[] Data)
{
    private readonly float[] _data = Data;
    private readonly GgufTensorSlice? _slice;

    /// <summary>A 2-D weight held as ggml blocks; <paramref name="shape"/> is [rows, columns] of <paramref name="packed"/>.</summary>
    public HostTensor(string name, long[] shape, QuantizedMatrix packed) : this(name, shape, Array.Empty<float>())
    {
        ArgumentNullException.ThrowIfNull(packed);
        if (shape.Length != 2 || shape[0] != packed.Rows || shape[1] != packed.Columns)
            throw new ArgumentException($"Shape [{string.Join(", ", shape)}] does not match the packed [{packed.Rows}, {packed.Columns}].", nameof(shape));
        Packed = packed;
    }

    /// <summary>Values still in the file: <paramref name="slice"/> is read when the model's tensor is filled.</summary>
    internal HostTensor(string name, long[] shape, GgufTensorSlice slice) : this(name, shape, Array.Empty<float>())
    {
        ArgumentNullException.ThrowIfNull(slice);
        if (slice.Rows * slice.Width != ElementCount)
            throw new ArgumentException($"Tensor '{name}': shape [{string.Join(", ", shape)}] does not match the {slice.Rows}×{slice.Width} values of '{slice.Tensor.Name}'.", nameof(shape));
        _slice = slice;
    }

    /// <summary>The ggml blocks when the weight is held quantized, else null.</summary>
    public QuantizedMatrix? Packed { get; }

    /// <summary>True when the values are still in the file (read by <see cref="CopyTo"/>, or by every <see cref="Data"/> access).</summary>
    public bool IsDeferred => _slice is not null;

    internal GgufTensorSlice? Slice => _slice;

    /// <summary>Row-major float32 values (packed or deferred: decoded or read afresh on every access, so hold on to the result).</summary>
    public float[] Data
    {
        get
        {
            if (Packed is not null) return Packed.Dequantize();
            if (_slice is null) return _data;
            var values = FileSlice.AllocateFloats(ElementCount, _slice.File.Path, _slice.Tensor.Name);
            _slice.ReadInto(values);
            return values;
        }
        init => _data = value;
    }

    /// <summary>Number of values <see cref="Data"/> holds or will produce (without reading or decoding them).</summary>
    public long Length => Packed is not null || _slice is not null ? ElementCount : _data.LongLength;

    /// <summary>Number of elements implied by the shape.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>
    /// Writes the row-major float32 values into <paramref name="destination"/> (exactly <see cref="ElementCount"/> long):
    /// a deferred tensor is read from its file there and a packed one decoded row by row, with no intermediate array.
    /// </summary>
    /// <exception cref="ArgumentException">The destination length differs from <see cref="ElementCount"/>.</exception>
    public void CopyTo(Span<float> destination)
    {
        if (destination.Length != ElementCount)
            throw new ArgumentException($"Tensor '{Name}' has {ElementCount} values; the destination has {destination.Length}.", nameof(destination));
        if (_slice is not null) _slice.ReadInto(destination);
        else if (Packed is { } packed)
        {
            int columns = (int)packed.Columns;
            for (int row = 0; row < packed.Rows; row++) packed.DequantizeRow(row, destination.Slice(row * columns, columns));
        }
        else _data.CopyTo(destination);
    }
}
