using TorchSharp;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// K/V eviction for a sliding-window layer: entries no query can see any more are dropped, so the layer holds about its window
/// instead of the whole context.
/// </summary>
/// <remarks>
/// <para>What is kept. A query at position q sees keys at q − w + 1 … q. The next query is at the newest position + 1, but a
/// rollback (<see cref="TruncateFrom"/>: a rejected speculative draft, a failed batched step) may restart earlier. So an append of
/// positions [first, newest] keeps every key a query at or after <c>min(first, newest + 1 − margin)</c> can see: going back
/// up to the margin is always possible, and so is undoing the latest append of any length (a tensor-path pass; the row path
/// appends a multi-row step row by row, which the margin, ≥ <see cref="Generation.Generator.MaxStepTokens"/>, covers). Going
/// further back raises <see cref="KvCacheEvictedException"/> (<see cref="EarliestTruncation"/>).</para>
/// <para>When. Evicting every step would move the window's entries every step; instead the buffers run to a bound of window +
/// margin + slack, and an append that would pass it first compacts (the kept entries move to the front, in order). That costs
/// (window + margin) / slack entry copies per appended entry, amortized (about 8), and bounds the buffers at ~1.125 × (window +
/// margin) entries. An append longer than the bound (a long prompt in one pass) grows the buffers for that pass, since its own
/// queries need its keys; the next compaction shrinks them back.</para>
/// <para>Exactness. Evicted keys are ones the mask already hid, whose softmax weight is exactly zero; what changes is only where
/// the kept entries sit in the buffers, which can move the last bit of a softmax sum.</para>
/// </remarks>
public sealed partial class LayerKvCache
{
    /// <summary>Positions a rollback may always go back by on a sliding-window layer: at least a whole generator step (≤ 31 rows).</summary>
    public const int DefaultRollbackMargin = 32;

    private readonly int? _window;
    private readonly int _margin;
    private readonly int _bound;      // entries the buffers run to before compacting (maxEntries when nothing is ever evicted)
    private readonly bool _evicts;
    private int _evictedBelow;        // every entry at a position below this has been dropped (0: none)

    /// <summary>The sliding window of this layer, or null when its queries see every earlier key (nothing is evicted).</summary>
    public int? Window => _window;

    /// <summary>Entries the buffers hold at most between compactions (outside a pass longer than that).</summary>
    public int EntryBound => _bound;

    /// <summary>
    /// The earliest position other than 0 this layer can continue from (<see cref="TruncateFrom"/>, <see cref="CopyPrefixFrom"/>):
    /// 0 while nothing was evicted, else the lowest query position whose window is still complete.
    /// </summary>
    public int EarliestTruncation => _evictedBelow == 0 ? 0 : _evictedBelow + _window!.Value - 1;

    /// <summary>Whether this layer holds every key a query at <paramref name="position"/> sees (0 always: nothing is needed).</summary>
    public bool HoldsPrefix(int position) => position == 0 || position >= EarliestTruncation;

    private static (int Bound, bool Evicts) BoundOf(int? window, int margin, int maxEntries)
    {
        if (window is not int w) return (maxEntries, false);
        long span = (long)w + margin;
        long bound = span - 1 + Math.Max(8, span / 8);
        return bound >= maxEntries ? (maxEntries, false) : ((int)bound, true);
    }

    /// <summary>Whether appending <paramref name="n"/> entries must first compact.</summary>
    private bool MustCompactFor(int n) => _evicts && _count + n > _bound;

    /// <summary>
    /// Before appending <paramref name="n"/> entries at positions [<paramref name="first"/>, <paramref name="newest"/>], when
    /// <see cref="MustCompactFor"/>: drops what no query that may still come can see.
    /// </summary>
    private void CompactFor(int n, long first, long newest)
    {
        long horizon = Math.Min(first, newest + 1 - _margin); // the earliest query that may still come
        EvictBelow(horizon - _window!.Value + 1);
        // A long pass grew the buffers; once the entries fit again, give the memory back.
        if (_capacity > _bound && _count + n <= _bound) Resize(_bound);
    }

    /// <summary>Drops every entry at a position below <paramref name="keepFrom"/>, keeping the others in order.</summary>
    private void EvictBelow(long keepFrom)
    {
        if (keepFrom <= _evictedBelow) return;
        _evictedBelow = (int)keepFrom;
        foreach (var region in _packed.Values) region.EvictBelow(keepFrom);
        if (_count == 0) return;
        using var scope = torch.NewDisposeScope();
        if (KeepEntries(TensorScalars.AtLeast(_positions.narrow(0, 0, _count), keepFrom))) IsContiguousPrefix = false; // host sync: once per compaction
    }

    /// <summary>The first and newest of <paramref name="positions"/> (n): from <paramref name="firstPosition"/> when consecutive.</summary>
    private static (long First, long Newest) RangeOf(torch.Tensor positions, int? firstPosition, int n)
    {
        if (firstPosition is int f) return (f, f + n - 1L);
        using var scope = torch.NewDisposeScope();
        return (positions.min().to(torch.int64).item<long>(), positions.max().to(torch.int64).item<long>()); // host sync: once per compaction
    }

    /// <exception cref="KvCacheEvictedException">The layer evicted keys a query at <paramref name="position"/> needs.</exception>
    private void ThrowUnlessHolds(int position)
    {
        if (!HoldsPrefix(position)) throw new KvCacheEvictedException(position, EarliestTruncation);
    }
}
