using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using TorchSharp;

namespace QuickSilver.Engine.PrefixCaching;

/// <summary>
/// K/V of token prefixes shared across requests and conversations: system prompts, tool lists, retrieved documents. A new
/// sequence starts from the longest stored prefix of its prompt computed under the same policy, and prefills only the rest.
/// Memory is bounded (<see cref="PrefixCacheOptions.MaxBytes"/>) with least-recently-used eviction. Thread-safe.
/// </summary>
/// <remarks>
/// <para>Exactness. A prefill that uses the cache runs in chunks ending on multiples of <see cref="PrefixCacheOptions.BlockTokens"/>
/// (<see cref="ChunkEnds"/>), and prefixes are reused in whole blocks. So a reused position was computed by the same passes over
/// the same tokens that a fresh prefill would run, and nothing after it took part: its K/V, which layers wrote it and its
/// routing statistics (halting, skipping, fusion and bit decisions all see only the pass's tokens) are exactly what recomputing
/// gives, and so are the logits that follow.</para>
/// <para>Entries are keyed by policy (a different policy writes different K/V) and by tokens; an entry that another one
/// extends is dropped, since the longer one serves every prefix of it.</para>
/// </remarks>
public sealed class PrefixCache : IDisposable
{
    private readonly PrefixCacheOptions _options;
    private readonly LinkedList<Entry> _lru = new(); // most recently used first
    private readonly object _gate = new();
    private long _usedBytes;
    private bool _disposed;

    /// <summary>Creates an empty cache.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is invalid.</exception>
    public PrefixCache(PrefixCacheOptions? options = null)
    {
        _options = options?.Clone() ?? new PrefixCacheOptions();
        _options.Validate();
    }

    /// <summary>The settings.</summary>
    public PrefixCacheOptions Options => _options.Clone();

    /// <summary>Bytes of K/V held.</summary>
    public long UsedBytes { get { lock (_gate) return _usedBytes; } }

    /// <summary>Entries held.</summary>
    public int Count { get { lock (_gate) return _lru.Count; } }

    /// <summary>Lookups that reused at least one block.</summary>
    public long Hits { get; private set; }

    /// <summary>Lookups that reused nothing.</summary>
    public long Misses { get; private set; }

    /// <summary>Prompt tokens served from the cache, all lookups together.</summary>
    public long HitTokens { get; private set; }

    /// <summary>Entries evicted to stay within <see cref="PrefixCacheOptions.MaxBytes"/>.</summary>
    public long Evictions { get; private set; }

    /// <summary>
    /// The ends of the prefill passes from <paramref name="start"/> to <paramref name="end"/>: every multiple of the block size
    /// in between, then <paramref name="end"/>. Running a prefill in exactly these passes is what makes stored prefixes exact.
    /// </summary>
    public IReadOnlyList<int> ChunkEnds(int start, int end)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfLessThan(end, start);
        var ends = new List<int>();
        int block = _options.BlockTokens;
        for (int b = (start / block + 1) * block; b < end; b += block) ends.Add(b);
        if (end > start) ends.Add(end);
        return ends;
    }

    /// <summary>
    /// Fills the empty <paramref name="target"/> with the longest stored prefix of <paramref name="tokens"/> computed under
    /// <paramref name="policyKey"/>, in whole blocks and at most <paramref name="maxTokens"/> long, and returns its length (0: a miss).
    /// </summary>
    /// <param name="policyKey">Identifies the policy the K/V must have been computed under.</param>
    /// <param name="tokens">The prompt.</param>
    /// <param name="target">The new sequence's cache; what it held is replaced.</param>
    /// <param name="maxTokens">At most this many (a prompt keeps at least one token to run, for its logits).</param>
    public int Restore(string policyKey, IReadOnlyList<int> tokens, KvCache target, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(policyKey);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(target);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            LinkedListNode<Entry>? best = null;
            int bestLength = 0;
            for (var node = _lru.First; node is not null; node = node.Next)
            {
                if (node.Value.PolicyKey != policyKey) continue;
                int common = Usable(CommonPrefix(node.Value.Tokens, tokens), maxTokens, target.ContextLength);
                // A sliding-window entry can continue only from near its end (it evicted older keys).
                if (common > bestLength && node.Value.Cache.HoldsPrefix(common)) (best, bestLength) = (node, common);
            }
            int length = bestLength;
            if (best is null || length == 0)
            {
                Misses++;
                return 0;
            }
            target.CopyPrefixFrom(best.Value.Cache, length);
            _lru.Remove(best);
            _lru.AddFirst(best);
            Hits++;
            HitTokens += length;
            return length;
        }
    }

    /// <summary>
    /// Stores the first <paramref name="length"/> positions of <paramref name="source"/> (which holds <paramref name="tokens"/>),
    /// rounded down to whole blocks, under <paramref name="policyKey"/>. The positions must have been prefilled in the passes
    /// <see cref="ChunkEnds"/> gives. Returns the stored length (0: nothing stored, e.g. shorter than a block or over the budget).
    /// </summary>
    public int Store(string policyKey, IReadOnlyList<int> tokens, KvCache source, int length)
    {
        ArgumentNullException.ThrowIfNull(policyKey);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(source);
        length = Math.Min(Math.Min(length, tokens.Count), source.Length);
        length = length / _options.BlockTokens * _options.BlockTokens;
        if (length == 0 || !source.HoldsPrefix(length)) return 0; // a sliding-window source may have evicted what the prefix needs
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            for (var node = _lru.First; node is not null;)
            {
                var next = node.Next;
                Entry entry = node.Value;
                if (entry.PolicyKey == policyKey)
                {
                    int common = CommonPrefix(entry.Tokens, tokens, length);
                    if (common >= length && entry.Tokens.Length >= length)
                    {
                        // Already held (as this prefix or a longer one): only refresh it.
                        _lru.Remove(node);
                        _lru.AddFirst(node);
                        return length;
                    }
                    if (common == entry.Tokens.Length) Remove(node); // the new entry extends this one
                }
                node = next;
            }
            var snapshot = new KvCache(source.Config, length, source.Device, initialCapacity: length, storage: source.Storage, rollbackMargin: source.RollbackMargin);
            snapshot.CopyPrefixFrom(source, length);
            long bytes = snapshot.AllocatedBytes;
            if (bytes > _options.MaxBytes)
            {
                snapshot.Dispose();
                return 0;
            }
            _lru.AddFirst(new Entry(policyKey, tokens.Take(length).ToArray(), snapshot, bytes));
            _usedBytes += bytes;
            while (_usedBytes > _options.MaxBytes && _lru.Last is { } victim)
            {
                Remove(victim);
                Evictions++;
            }
            return length;
        }
    }

    /// <summary>Drops every entry.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            while (_lru.First is { } node) Remove(node);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            while (_lru.First is { } node) Remove(node);
            _disposed = true;
        }
    }

    private void Remove(LinkedListNode<Entry> node)
    {
        _lru.Remove(node);
        _usedBytes -= node.Value.Bytes;
        node.Value.Cache.Dispose();
    }

    /// <summary>A common prefix cut to what can be restored: at most <paramref name="maxTokens"/> and the context, whole blocks.</summary>
    private int Usable(int common, int maxTokens, int contextLength) =>
        Math.Min(Math.Min(common, maxTokens), contextLength) / _options.BlockTokens * _options.BlockTokens;

    private static int CommonPrefix(int[] stored, IReadOnlyList<int> tokens, int limit = int.MaxValue)
    {
        int n = Math.Min(Math.Min(stored.Length, tokens.Count), limit), i = 0;
        while (i < n && stored[i] == tokens[i]) i++;
        return i;
    }

    private sealed record Entry(string PolicyKey, int[] Tokens, KvCache Cache, long Bytes);
}
