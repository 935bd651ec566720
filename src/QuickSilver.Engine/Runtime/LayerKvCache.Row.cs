using QuickSilver.Engine.Kernels;

namespace QuickSilver.Engine.Runtime;

/// <summary>The decode row path's access to a layer cache: one token appended and attended in host memory, no tensors.</summary>
public sealed unsafe partial class LayerKvCache
{
    private TorchSharp.torch.Tensor? _rowBuffers; // the key buffer the pointers below belong to (replaced when the cache grows)
    private byte* _rowKeys, _rowValues;           // float32, or 16-bit codes (Storage)
    private long* _rowPositions;

    /// <summary>Whether the buffers are in host memory and nothing is packed: the row path can append and attend.</summary>
    internal bool SupportsRows
    {
        get
        {
            foreach (var region in _packed.Values) if (region.Count > 0) return false;
            return _device.type == TorchSharp.DeviceType.CPU;
        }
    }

    /// <summary>
    /// Appends one token's keys and values (nkv·hs each, head after head) at <paramref name="position"/>, rounded to
    /// <see cref="Storage"/> as the tensor path rounds them, and returns the buffers for attention: keys and values
    /// (nkv, capacity, hs) of <see cref="Storage"/> elements, positions, entries and capacity.
    /// </summary>
    /// <exception cref="InvalidOperationException">The context is full, or the cache holds packed entries.</exception>
    internal (IntPtr Keys, IntPtr Values, IntPtr Positions, int Count, int Capacity) AppendRow(ReadOnlySpan<float> keys, ReadOnlySpan<float> values, long position)
    {
        if (!SupportsRows) throw new InvalidOperationException("The row path needs a host cache without packed entries.");
        if (MustCompactFor(1)) CompactFor(1, position, position);
        if (Count + 1 > _maxEntries)
            throw new InvalidOperationException($"KV cache overflow: {Count} + 1 entries exceed the {_maxEntries} the context allows.");
        int width = _kvHeads * _headDim;
        if (keys.Length < width || values.Length < width) throw new ArgumentException($"A row of keys or values needs {width} values.");
        EnsureCapacity(_count + 1);
        if (!ReferenceEquals(_rowBuffers, _keys))
        {
            _rowKeys = (byte*)HostMemory.Pointer(_keys);
            _rowValues = (byte*)HostMemory.Pointer(_values);
            _rowPositions = HostMemory.Longs(_positions);
            _rowBuffers = _keys;
        }
        int at = _count;
        bool bfloat16 = _storage == KvCacheType.BFloat16;
        for (int h = 0; h < _kvHeads; h++)
        {
            long offset = (((long)h * _capacity) + at) * _headDim;
            var k = keys.Slice(h * _headDim, _headDim);
            var v = values.Slice(h * _headDim, _headDim);
            if (_storage == KvCacheType.Float32)
            {
                k.CopyTo(new Span<float>((float*)_rowKeys + offset, _headDim));
                v.CopyTo(new Span<float>((float*)_rowValues + offset, _headDim));
            }
            else
            {
                HalfKvRows.Narrow(bfloat16, k, (ushort*)_rowKeys + offset);
                HalfKvRows.Narrow(bfloat16, v, (ushort*)_rowValues + offset);
            }
        }
        _rowPositions[at] = position;
        IsContiguousPrefix = IsContiguousPrefix && position == at;
        _count = at + 1;
        return ((IntPtr)_rowKeys, (IntPtr)_rowValues, (IntPtr)_rowPositions, _count, _capacity);
    }
}
