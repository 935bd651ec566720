using QuickSilver.Extensions.AI.Backend;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>
/// A bounded LRU of sessions (each one a KV cache) for multi-turn reuse. A request with a ConversationId gets that
/// conversation's session; one without gets the anonymous session sharing the longest token prefix with its prompt, provided
/// that prefix covers at least half of what the session holds (so a shared template header alone does not take over another
/// exchange's cache); otherwise a fresh session. Beyond <see cref="Capacity"/> sessions, the least recently used one is disposed.
/// Used only from the decode worker thread, so it needs no locking.
/// </summary>
internal sealed class SessionCache(IQuickSilverBackend backend, int capacity) : IDisposable
{
    private const string AnonymousPrefix = "\0anonymous:";

    private readonly LinkedList<Entry> _lru = new();   // most recently used first
    private long _anonymousCounter;

    public int Capacity { get; } = capacity >= 1 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "MaxCachedConversations must be at least 1.");

    public int Count => _lru.Count;

    /// <summary>Sessions evicted so far.</summary>
    public long Evictions { get; private set; }

    public IEnumerable<string> Keys => _lru.Select(e => e.Key);

    /// <summary>Returns the session to use for this prompt and marks it most recently used.</summary>
    public IQuickSilverSession Acquire(string? conversationId, IReadOnlyList<int> promptIds)
    {
        LinkedListNode<Entry>? node = null;
        if (conversationId is not null)
        {
            node = Find(e => e.Key == conversationId);
        }
        else
        {
            int best = 0;
            for (LinkedListNode<Entry>? n = _lru.First; n is not null; n = n.Next)
            {
                if (!n.Value.Key.StartsWith(AnonymousPrefix, StringComparison.Ordinal)) continue;
                IReadOnlyList<int> cached = n.Value.Session.CachedTokens;
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
            while (_lru.Count >= Capacity)
            {
                Entry victim = _lru.Last!.Value;
                _lru.RemoveLast();
                victim.Session.Dispose();
                Evictions++;
            }
            string key = conversationId ?? AnonymousPrefix + Interlocked.Increment(ref _anonymousCounter);
            node = _lru.AddFirst(new Entry(key, backend.CreateSession()));
        }
        else
        {
            _lru.Remove(node);
            _lru.AddFirst(node);
        }
        return node.Value.Session;
    }

    public bool Contains(string conversationId) => Find(e => e.Key == conversationId) is not null;

    public void Dispose()
    {
        foreach (Entry entry in _lru) entry.Session.Dispose();
        _lru.Clear();
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

    private sealed record Entry(string Key, IQuickSilverSession Session);
}
