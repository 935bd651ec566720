using TorchSharp;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// One layer's K/V entries for one sequence. Stores only what was written (KV skipping leaves gaps),
/// each entry with its position, in buffers that grow by doubling up to the context length, so a decode
/// step never concatenates. Entries need not be in position order; attention masks by position.
/// </summary>
public sealed class LayerKvCache : IDisposable
{
    private readonly int _kvHeads, _headDim, _maxEntries;
    private readonly torch.Device _device;
    private torch.Tensor _keys;      // (1, nkv, cap, hs)
    private torch.Tensor _values;    // (1, nkv, cap, hs)
    private torch.Tensor _positions; // (cap) int64
    private int _capacity;

    /// <summary>Creates an empty cache with room for <paramref name="initialCapacity"/> entries.</summary>
    public LayerKvCache(int kvHeads, int headDim, int maxEntries, int initialCapacity, torch.Device device)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxEntries);
        (_kvHeads, _headDim, _maxEntries, _device) = (kvHeads, headDim, maxEntries, device);
        _capacity = Math.Clamp(initialCapacity, 1, maxEntries);
        _keys = torch.empty(1, kvHeads, _capacity, headDim, device: device).DetachFromDisposeScope();
        _values = torch.empty(1, kvHeads, _capacity, headDim, device: device).DetachFromDisposeScope();
        _positions = torch.empty(_capacity, torch.int64, device: device).DetachFromDisposeScope();
        IsContiguousPrefix = true;
    }

    /// <summary>Number of entries written.</summary>
    public int Count { get; private set; }

    /// <summary>True while the entries are exactly positions 0..Count−1 in order (enables mask-free fast paths).</summary>
    public bool IsContiguousPrefix { get; private set; }

    /// <summary>Bytes held by the written entries (keys, values and positions).</summary>
    public long UsedBytes => (long)Count * (2L * _kvHeads * _headDim * sizeof(float) + sizeof(long));

    /// <summary>Bytes allocated, including the unused tail of the buffers.</summary>
    public long AllocatedBytes => (long)_capacity * (2L * _kvHeads * _headDim * sizeof(float) + sizeof(long));

    /// <summary>
    /// Appends <paramref name="keys"/> and <paramref name="values"/> (1, nkv, n, hs) at <paramref name="positions"/> (n)
    /// and returns views over all entries: keys, values (1, nkv, Count, hs) and their positions (Count).
    /// </summary>
    /// <param name="firstPosition">The first position when the n positions are consecutive, else null.</param>
    public (torch.Tensor Keys, torch.Tensor Values, torch.Tensor Positions) Update(torch.Tensor keys, torch.Tensor values, torch.Tensor positions, int? firstPosition)
    {
        int n = (int)keys.shape[2];
        if (Count + n > _maxEntries)
            throw new InvalidOperationException($"KV cache overflow: {Count} + {n} entries exceed the {_maxEntries} the context allows.");
        EnsureCapacity(Count + n);
        _keys.narrow(2, Count, n).copy_(keys);
        _values.narrow(2, Count, n).copy_(values);
        _positions.narrow(0, Count, n).copy_(positions);
        IsContiguousPrefix = IsContiguousPrefix && firstPosition == Count;
        Count += n;
        return View();
    }

    /// <summary>Views over the written entries.</summary>
    public (torch.Tensor Keys, torch.Tensor Values, torch.Tensor Positions) View() =>
        (_keys.narrow(2, 0, Count), _values.narrow(2, 0, Count), _positions.narrow(0, 0, Count));

    /// <summary>Drops every entry at or beyond <paramref name="position"/> (for prefix reuse).</summary>
    public void TruncateFrom(int position)
    {
        if (Count == 0) return;
        if (IsContiguousPrefix)
        {
            Count = Math.Min(Count, position);
            return;
        }
        using var scope = torch.NewDisposeScope();
        var keep = (_positions.narrow(0, 0, Count) < position).nonzero().squeeze(1); // host sync: rare (prefix reuse only)
        int kept = (int)keep.shape[0];
        if (kept == Count) return;
        var k = _keys.narrow(2, 0, Count).index_select(2, keep);
        var v = _values.narrow(2, 0, Count).index_select(2, keep);
        var p = _positions.narrow(0, 0, Count).index_select(0, keep);
        _keys.narrow(2, 0, kept).copy_(k);
        _values.narrow(2, 0, kept).copy_(v);
        _positions.narrow(0, 0, kept).copy_(p);
        Count = kept;
    }

    /// <summary>Forgets every entry.</summary>
    public void Clear()
    {
        Count = 0;
        IsContiguousPrefix = true;
    }

    private void EnsureCapacity(int needed)
    {
        if (needed <= _capacity) return;
        int capacity = _capacity;
        while (capacity < needed) capacity = (int)Math.Min((long)capacity * 2, _maxEntries);
        // The cache outlives any forward's dispose scope: keep its buffers out of it.
        var keys = torch.empty(1, _kvHeads, capacity, _headDim, device: _device).DetachFromDisposeScope();
        var values = torch.empty(1, _kvHeads, capacity, _headDim, device: _device).DetachFromDisposeScope();
        var positions = torch.empty(capacity, torch.int64, device: _device).DetachFromDisposeScope();
        keys.narrow(2, 0, Count).copy_(_keys.narrow(2, 0, Count));
        values.narrow(2, 0, Count).copy_(_values.narrow(2, 0, Count));
        positions.narrow(0, 0, Count).copy_(_positions.narrow(0, 0, Count));
        _keys.Dispose(); _values.Dispose(); _positions.Dispose();
        (_keys, _values, _positions, _capacity) = (keys, values, positions, capacity);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _keys.Dispose();
        _values.Dispose();
        _positions.Dispose();
    }
}
