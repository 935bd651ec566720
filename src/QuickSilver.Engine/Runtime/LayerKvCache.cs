using System.Runtime.InteropServices;
using TorchSharp;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// One layer's K/V entries for one sequence. Stores only what was written (KV skipping leaves gaps),
/// each entry with its position, in buffers that grow by doubling up to the context length, so a decode
/// step never concatenates. Entries need not be in position order; attention masks by position.
/// </summary>
/// <remarks>
/// Entries written at 8/4/2 bits are stored packed (<see cref="PackedKvRegion"/>, the storage of record, <see cref="UsedBytes"/>)
/// and, dequantized once when written, appended to the float buffers attention reads (<see cref="MirrorBytes"/>): a
/// decode step attends over views, exactly the stored values, without dequantizing the whole cache each step.
/// With <see cref="KvCacheType.Float16"/> or <see cref="KvCacheType.BFloat16"/> the buffers hold 16-bit values: written
/// rounded to nearest even (libtorch's and .NET's conversions agree), read widened to float32, by every path alike, so a
/// prefill and the decode steps after it attend over the same stored values. Packed entries need float32 buffers.
/// </remarks>
public sealed partial class LayerKvCache : IDisposable
{
    private readonly int _kvHeads, _headDim, _maxEntries;
    private readonly torch.Device _device;
    private torch.Tensor _keys;      // (1, nkv, cap, hs): every entry, packed ones as their stored (dequantized) values
    private torch.Tensor _values;    // (1, nkv, cap, hs)
    private torch.Tensor _positions; // (cap) int64
    private int _capacity;
    private int _count;              // entries in the buffers: all of them
    private readonly Dictionary<int, PackedKvRegion> _packed = []; // bits → region, created on first use
    private readonly int _groupSize;
    private readonly KvCacheType _storage;
    private readonly torch.ScalarType _dtype;

    /// <summary>
    /// Creates an empty cache with room for <paramref name="initialCapacity"/> entries. With a <paramref name="window"/> the layer
    /// is a sliding-window one and evicts keys its queries can no longer see, keeping <paramref name="rollbackMargin"/> positions
    /// of rollback (see <see cref="EarliestTruncation"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="storage"/> is not a defined <see cref="KvCacheType"/>, or the
    /// window or margin is not positive.</exception>
    public LayerKvCache(int kvHeads, int headDim, int maxEntries, int initialCapacity, torch.Device device, int groupSize = 32, KvCacheType storage = KvCacheType.Float32,
        int? window = null, int rollbackMargin = DefaultRollbackMargin)
    {
        _groupSize = groupSize;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxEntries);
        if (!Enum.IsDefined(storage))
            throw new ArgumentOutOfRangeException(nameof(storage), storage, "The K/V cache type (LanguageModelOptions.KvCacheType) must be Float32, Float16 or BFloat16.");
        if (window is <= 0) throw new ArgumentOutOfRangeException(nameof(window), window, "A sliding window must be positive (null for none).");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rollbackMargin);
        (_storage, _dtype) = (storage, DTypeOf(storage));
        (_kvHeads, _headDim, _maxEntries, _device) = (kvHeads, headDim, maxEntries, device);
        (_window, _margin) = (window, rollbackMargin);
        (_bound, _evicts) = BoundOf(window, rollbackMargin, maxEntries);
        _capacity = Math.Clamp(initialCapacity, 1, _bound);
        _keys = torch.empty(1, kvHeads, _capacity, headDim, _dtype, device: device).DetachFromDisposeScope();
        _values = torch.empty(1, kvHeads, _capacity, headDim, _dtype, device: device).DetachFromDisposeScope();
        _positions = torch.empty(_capacity, torch.int64, device: device).DetachFromDisposeScope();
        IsContiguousPrefix = true;
    }

    /// <summary>How keys and values are stored.</summary>
    public KvCacheType Storage => _storage;

    /// <summary>Bytes of one stored key or value element.</summary>
    public static int ElementBytes(KvCacheType storage) => storage == KvCacheType.Float32 ? sizeof(float) : sizeof(ushort);

    private static torch.ScalarType DTypeOf(KvCacheType storage) => storage switch
    {
        KvCacheType.Float16 => torch.ScalarType.Float16,
        KvCacheType.BFloat16 => torch.ScalarType.BFloat16,
        _ => torch.ScalarType.Float32,
    };

    private long EntryBytes => (2L * _kvHeads * _headDim * ElementBytes(_storage)) + sizeof(long);

    /// <summary>Number of entries written (full precision and packed).</summary>
    public int Count => _count;

    /// <summary>Entries stored in full precision.</summary>
    public int FloatCount => _count - PackedEntries;

    private int PackedEntries => _packed.Count == 0 ? 0 : _packed.Values.Sum(r => r.Count);

    /// <summary>Entries stored packed at <paramref name="bits"/> bits.</summary>
    public int PackedCount(int bits) => _packed.TryGetValue(bits, out var region) ? region.Count : 0;

    /// <summary>True while the entries are exactly positions 0..Count−1 in order (enables mask-free fast paths).</summary>
    public bool IsContiguousPrefix { get; private set; }

    /// <summary>Bytes held by the written entries (keys, values and positions).</summary>
    public long UsedBytes => ((long)FloatCount * EntryBytes) + _packed.Values.Sum(r => r.UsedBytes);

    /// <summary>Bytes of the float copies of the packed entries that attention reads (the cost of not dequantizing per step).</summary>
    public long MirrorBytes => (long)PackedEntries * EntryBytes;

    /// <summary>Bytes allocated, including the unused tail of the buffers (which also hold the packed entries' float copies).</summary>
    public long AllocatedBytes => ((long)_capacity * EntryBytes) + _packed.Values.Sum(r => r.AllocatedBytes);

    /// <summary>
    /// Appends <paramref name="keys"/> and <paramref name="values"/> (1, nkv, n, hs) at <paramref name="positions"/> (n)
    /// and returns all entries: keys, values (1, nkv, Count, hs) and their positions (Count). Keys and values are float32:
    /// views of the buffers, or with a 16-bit <see cref="Storage"/> their widened copies (owned by the caller's dispose scope).
    /// </summary>
    /// <param name="firstPosition">The first position when the n positions are consecutive, else null.</param>
    /// <param name="bits">Per entry, the bits to store it at (8, 4, 2; 32 = full precision), or null for all full precision.</param>
    public (torch.Tensor Keys, torch.Tensor Values, torch.Tensor Positions) Update(torch.Tensor keys, torch.Tensor values, torch.Tensor positions, int? firstPosition, IReadOnlyList<int>? bits = null)
    {
        Append(keys, values, positions, firstPosition, bits);
        return View();
    }

    /// <summary>
    /// <see cref="Update"/> without returning the entries: a caller that frees its projections before reading the cache
    /// (with a 16-bit <see cref="Storage"/> the read is a widened copy) calls <see cref="View"/> after.
    /// </summary>
    internal void Append(torch.Tensor keys, torch.Tensor values, torch.Tensor positions, int? firstPosition, IReadOnlyList<int>? bits = null)
    {
        int n = (int)keys.shape[2];
        if (MustCompactFor(n))
        {
            (long first, long newest) = RangeOf(positions, firstPosition, n);
            CompactFor(n, first, newest);
        }
        if (_count + n > _maxEntries)
            throw new InvalidOperationException($"KV cache overflow: {Count} + {n} entries exceed the {_maxEntries} the context allows.");
        if (bits is null || bits.All(b => b >= 32))
        {
            AppendFloat(keys, values, positions);
            IsContiguousPrefix = IsContiguousPrefix && firstPosition == _count - n && _packed.Count == 0;
            return;
        }
        if (_device.type != DeviceType.CPU) throw new NotSupportedException("Packed K/V runs on the CPU only; disable Quantization.QuantizeKv for another device.");
        if (_storage != KvCacheType.Float32)
            throw new NotSupportedException($"Packed K/V (the policy's Quantization.QuantizeKv) needs LanguageModelOptions.KvCacheType = Float32, not {_storage}.");
        // Managed on the buffers' storage: a decode step appends one entry, and the tensor route (select, pack, unpack, copy)
        // cost more than the attention it feeds. Each packed entry is dequantized here, once.
        using (var scope = torch.NewDisposeScope())
        {
            var k = keys.contiguous(); // (1, nkv, n, hs)
            var v = values.contiguous();
            ReadOnlySpan<float> keyValues = MemoryMarshal.Cast<byte, float>(k.bytes), valueValues = MemoryMarshal.Cast<byte, float>(v.bytes);
            long[] entryPositions = positions.to(torch.int64).cpu().data<long>().ToArray();
            foreach (var group in Enumerable.Range(0, n).GroupBy(i => bits[i] >= 32 ? 32 : bits[i]))
            {
                int[] rows = [.. group];
                int m = rows.Length;
                float[] gk = Gather(keyValues, n, rows), gv = Gather(valueValues, n, rows);
                long[] gp = [.. rows.Select(i => entryPositions[i])];
                EnsureCapacity(_count + m);
                Span<float> keyBuffer = MemoryMarshal.Cast<byte, float>(_keys.bytes), valueBuffer = MemoryMarshal.Cast<byte, float>(_values.bytes);
                if (group.Key >= 32)
                {
                    for (int h = 0; h < _kvHeads; h++)
                    {
                        gk.AsSpan(h * m * _headDim, m * _headDim).CopyTo(keyBuffer.Slice(((h * _capacity) + _count) * _headDim));
                        gv.AsSpan(h * m * _headDim, m * _headDim).CopyTo(valueBuffer.Slice(((h * _capacity) + _count) * _headDim));
                    }
                }
                else
                {
                    if (!_packed.TryGetValue(group.Key, out var region))
                        _packed[group.Key] = region = new PackedKvRegion(group.Key, _kvHeads, _headDim, _groupSize, _maxEntries, _device);
                    region.AppendInto(gk, gv, gp, m, keyBuffer, valueBuffer, _capacity, _count);
                }
                gp.CopyTo(MemoryMarshal.Cast<byte, long>(_positions.bytes).Slice(_count, m));
                _count += m;
            }
        }
        IsContiguousPrefix = false;
    }

    private void AppendFloat(torch.Tensor keys, torch.Tensor values, torch.Tensor positions)
    {
        int n = (int)keys.shape[2];
        EnsureCapacity(_count + n);
        _keys.narrow(2, _count, n).copy_(keys);
        _values.narrow(2, _count, n).copy_(values);
        _positions.narrow(0, _count, n).copy_(positions);
        _count += n;
    }

    /// <summary>Rows <paramref name="rows"/> of (nkv, n, hs) values, as (nkv, rows, hs).</summary>
    private float[] Gather(ReadOnlySpan<float> source, int n, int[] rows)
    {
        var result = new float[_kvHeads * rows.Length * _headDim];
        for (int h = 0; h < _kvHeads; h++)
            for (int r = 0; r < rows.Length; r++)
                source.Slice(((h * n) + rows[r]) * _headDim, _headDim).CopyTo(result.AsSpan(((h * rows.Length) + r) * _headDim));
        return result;
    }

    /// <summary>
    /// All entries in float32: full-precision ones as written, packed ones as their stored values. Views of the buffers, or with
    /// a 16-bit <see cref="Storage"/> the stored values widened (a copy in the caller's dispose scope: attention runs in float32).
    /// </summary>
    public (torch.Tensor Keys, torch.Tensor Values, torch.Tensor Positions) View()
    {
        var keys = _keys.narrow(2, 0, _count);
        var values = _values.narrow(2, 0, _count);
        if (_storage != KvCacheType.Float32) (keys, values) = (keys.to(torch.float32), values.to(torch.float32));
        return (keys, values, _positions.narrow(0, 0, _count));
    }

    /// <summary>Drops every entry at or beyond <paramref name="position"/> (for prefix reuse and rollback).</summary>
    /// <exception cref="KvCacheEvictedException">A sliding-window layer already evicted keys a query at <paramref name="position"/>
    /// needs (<see cref="EarliestTruncation"/>); nothing is dropped.</exception>
    public void TruncateFrom(int position)
    {
        ThrowUnlessHolds(position);
        if (position == 0)
        {
            Clear();
            return;
        }
        foreach (var region in _packed.Values) region.TruncateFrom(position);
        if (_count == 0) return;
        if (IsContiguousPrefix)
        {
            _count = Math.Min(_count, position);
            return;
        }
        using var scope = torch.NewDisposeScope();
        KeepEntries(TensorScalars.Below(_positions.narrow(0, 0, _count), position)); // host sync: rare (prefix reuse only)
    }

    /// <summary>
    /// Keeps the entries whose <paramref name="keepMask"/> (count) is true, in order, at the front of the buffers; false when
    /// every entry was kept. The caller owns the dispose scope.
    /// </summary>
    private bool KeepEntries(torch.Tensor keepMask)
    {
        var keep = keepMask.nonzero().squeeze(1); // (kept)
        int kept = (int)keep.shape[0];
        if (kept == _count) return false;
        var k = _keys.narrow(2, 0, _count).index_select(2, keep);
        var v = _values.narrow(2, 0, _count).index_select(2, keep);
        var p = _positions.narrow(0, 0, _count).index_select(0, keep);
        _keys.narrow(2, 0, kept).copy_(k);
        _values.narrow(2, 0, kept).copy_(v);
        _positions.narrow(0, 0, kept).copy_(p);
        _count = kept;
        return true;
    }

    /// <summary>
    /// Replaces this cache's entries with <paramref name="source"/>'s entries at positions before <paramref name="position"/>, in the
    /// same order and at the same precision (prefix caching: the copy reads exactly as the source would after TruncateFrom).
    /// </summary>
    /// <exception cref="KvCacheEvictedException">The source evicted keys a query at <paramref name="position"/> needs.</exception>
    public void CopyPrefixFrom(LayerKvCache source, int position)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source._kvHeads != _kvHeads || source._headDim != _headDim)
            throw new ArgumentException($"A layer cache of {source._kvHeads}×{source._headDim} cannot fill one of {_kvHeads}×{_headDim}.", nameof(source));
        if (source._storage != _storage)
            throw new ArgumentException($"A {source._storage} layer cache cannot fill a {_storage} one: the copy would not read as the source does.", nameof(source));
        if (source._window != _window)
            throw new ArgumentException($"A layer cache with window {source._window?.ToString() ?? "none"} cannot fill one with window {_window?.ToString() ?? "none"}.", nameof(source));
        source.ThrowUnlessHolds(position);
        Clear();
        if (position > 0) _evictedBelow = source._evictedBelow; // what the source dropped, the copy lacks too
        using (var scope = torch.NewDisposeScope())
        {
            var positions = source._positions.narrow(0, 0, source._count);
            if (source.IsContiguousPrefix)
            {
                int n = Math.Min(source._count, position);
                if (n > 0) AppendFloat(source._keys.narrow(2, 0, n), source._values.narrow(2, 0, n), positions.narrow(0, 0, n));
            }
            else if (source._count > 0)
            {
                var keep = TensorScalars.Below(positions, position).nonzero().squeeze(1); // host sync: once per restored prefix
                if (keep.shape[0] > 0)
                    AppendFloat(source._keys.narrow(2, 0, source._count).index_select(2, keep), source._values.narrow(2, 0, source._count).index_select(2, keep), positions.index_select(0, keep));
            }
        }
        // The buffers hold every entry (packed ones as their stored values); the regions hold the packed storage of record.
        foreach (var (bits, region) in source._packed)
        {
            if (!_packed.TryGetValue(bits, out var mine))
                _packed[bits] = mine = new PackedKvRegion(bits, _kvHeads, _headDim, _groupSize, _maxEntries, _device);
            mine.CopyPrefixFrom(region, position);
        }
        // Contiguous exactly when a fresh computation of the prefix would be: full precision, positions 0..n−1 in order.
        IsContiguousPrefix = _packed.Values.All(r => r.Count == 0) && (source.IsContiguousPrefix || PositionsAreRange());
    }

    private bool PositionsAreRange()
    {
        if (_count == 0) return true;
        using var scope = torch.NewDisposeScope();
        return _positions.narrow(0, 0, _count).equal(TensorScalars.Range(_count, torch.int64, _device)).all().item<bool>();
    }

    /// <summary>Forgets every entry.</summary>
    public void Clear()
    {
        _count = 0;
        _evictedBelow = 0;
        foreach (var region in _packed.Values) region.Clear();
        IsContiguousPrefix = true;
    }

    private void EnsureCapacity(int needed)
    {
        if (needed <= _capacity) return;
        int capacity = _capacity;
        int limit = needed <= _bound ? _bound : _maxEntries; // a sliding-window layer's buffers stop at its bound unless a long pass needs more
        while (capacity < needed) capacity = (int)Math.Min((long)capacity * 2, limit);
        Resize(capacity);
    }

    /// <summary>Moves the entries into buffers of <paramref name="capacity"/> (≥ Count) entries.</summary>
    private void Resize(int capacity)
    {
        // The cache outlives any forward's dispose scope: keep its buffers out of it.
        var keys = torch.empty(1, _kvHeads, capacity, _headDim, _dtype, device: _device).DetachFromDisposeScope();
        var values = torch.empty(1, _kvHeads, capacity, _headDim, _dtype, device: _device).DetachFromDisposeScope();
        var positions = torch.empty(capacity, torch.int64, device: _device).DetachFromDisposeScope();
        keys.narrow(2, 0, _count).copy_(_keys.narrow(2, 0, _count));
        values.narrow(2, 0, _count).copy_(_values.narrow(2, 0, _count));
        positions.narrow(0, 0, _count).copy_(_positions.narrow(0, 0, _count));
        _keys.Dispose(); _values.Dispose(); _positions.Dispose();
        (_keys, _values, _positions, _capacity) = (keys, values, positions, capacity);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _keys.Dispose();
        _values.Dispose();
        _positions.Dispose();
        foreach (var region in _packed.Values) region.Dispose();
    }
}
