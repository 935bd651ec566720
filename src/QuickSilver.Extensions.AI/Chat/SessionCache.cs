using QuickSilver.Engine.Generation;
using QuickSilver.Extensions.AI.Backend;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>
/// A bounded LRU of sequences (each one a KV cache) for multi-turn reuse. A request with a ConversationId gets that
/// conversation's sequence; one without gets the anonymous sequence sharing the longest token prefix with its prompt, provided
/// that prefix covers at least half of what the session holds (so a shared template header alone does not take over another
/// exchange's cache); otherwise a fresh one. A sequence computed under other options (policy, protected ids) is replaced, since
/// its cache is not valid for the request. Beyond <see cref="Capacity"/> sequences, the least recently used idle one is disposed.
/// A sequence is busy from <see cref="Acquire"/> until <see cref="Release"/>: concurrent requests of one batch never share a
/// K/V cache (a request whose conversation is busy gets a fresh sequence that is disposed on release), and a busy sequence is
/// never evicted (the cache may exceed its capacity while more requests than that run). Used only from the batch scheduler's
/// thread, so it needs no locking.
/// </summary>
internal sealed class SessionCache(IQuickSilverBackend backend, int capacity) : IDisposable
{
    private const string AnonymousPrefix = "\0anonymous:";

    private readonly LinkedList<Entry> _lru = new();   // most recently used first
    private readonly HashSet<Sequence> _temporary = new(ReferenceEqualityComparer.Instance);
    private long _anonymousCounter;

    public int Capacity { get; } = capacity >= 1 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "MaxCachedConversations must be at least 1.");

    public int Count => _lru.Count;

    /// <summary>Sessions evicted so far.</summary>
    public long Evictions { get; private set; }

    public IEnumerable<string> Keys => _lru.Select(e => e.Key);

    /// <summary>Returns the sequence to use for this prompt under <paramref name="options"/>, marks it busy and most recently used.</summary>
    public Sequence Acquire(string? conversationId, IReadOnlyList<int> promptIds, SequenceOptions options)
    {
        string key = options.CacheKey();
        LinkedListNode<Entry>? node = null;
        if (conversationId is not null)
        {
            node = Find(e => e.Key == conversationId);
            if (node is { Value.Busy: true })
            {
                // The conversation runs already: this request gets its own K/V, not kept afterwards.
                Sequence temporary = backend.Steps.CreateSequence(options);
                _temporary.Add(temporary);
                return temporary;
            }
        }
        else
        {
            int best = 0;
            for (LinkedListNode<Entry>? n = _lru.First; n is not null; n = n.Next)
            {
                if (n.Value.Busy || !n.Value.Key.StartsWith(AnonymousPrefix, StringComparison.Ordinal)) continue;
                if (n.Value.Sequence.CacheKey != key) continue;
                IReadOnlyList<int> cached = n.Value.Sequence.Tokens;
                int common = CommonPrefix(cached, promptIds);
                if (common > best && 2 * common >= cached.Count)
                {
                    best = common;
                    node = n;
                }
            }
        }

        if (node is null)
        {
            Trim(Capacity - 1);
            string name = conversationId ?? AnonymousPrefix + Interlocked.Increment(ref _anonymousCounter);
            node = _lru.AddFirst(new Entry(name, backend.Steps.CreateSequence(options)));
        }
        else
        {
            _lru.Remove(node);
            _lru.AddFirst(node);
            if (node.Value.Sequence.CacheKey != key)
            {
                node.Value.Sequence.Dispose();
                node.Value.Sequence = backend.Steps.CreateSequence(options);
            }
        }
        node.Value.Busy = true;
        return node.Value.Sequence;
    }

    /// <summary>Ends a request's use of <paramref name="sequence"/>: it becomes idle (a temporary one is disposed).</summary>
    public void Release(Sequence sequence)
    {
        if (_temporary.Remove(sequence))
        {
            sequence.Dispose();
            TemporaryDisposed++;
            return;
        }
        if (Find(e => ReferenceEquals(e.Sequence, sequence)) is { } node) node.Value.Busy = false;
        Trim(Capacity);
    }

    /// <summary>Temporary sequences (for a conversation that was already running) disposed on release so far.</summary>
    public long TemporaryDisposed { get; private set; }

    /// <summary>Sequences in use by running requests.</summary>
    public int BusyCount => _lru.Count(e => e.Busy) + _temporary.Count;

    /// <summary>Disposes least recently used idle sequences until at most <paramref name="count"/> remain (busy ones stay).</summary>
    private void Trim(int count)
    {
        for (LinkedListNode<Entry>? n = _lru.Last; n is not null && _lru.Count > count;)
        {
            LinkedListNode<Entry>? previous = n.Previous;
            if (!n.Value.Busy)
            {
                _lru.Remove(n);
                n.Value.Sequence.Dispose();
                Evictions++;
            }
            n = previous;
        }
    }

    public bool Contains(string conversationId) => Find(e => e.Key == conversationId) is not null;

    public void Dispose()
    {
        foreach (Entry entry in _lru) entry.Sequence.Dispose();
        foreach (Sequence sequence in _temporary) sequence.Dispose();
        _lru.Clear();
        _temporary.Clear();
    }

    internal static int CommonPrefix(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        int n = Math.Min(a.Count, b.Count), i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }

    private LinkedListNode<Entry>? Find(Func<Entry, bool> match)
    {
        for (LinkedListNode<Entry>? n = _lru.First; n is not null; n = n.Next)
        {
            if (match(n.Value)) return n;
        }
        return null;
    }

    private sealed class Entry(string key, Sequence sequence)
    {
        public string Key { get; } = key;

        public Sequence Sequence { get; set; } = sequence;

        /// <summary>A running request holds it.</summary>
        public bool Busy { get; set; }
    }
}
