namespace QuickSilver.Engine.Speculative;

/// <summary>
/// Prompt-lookup drafting: when the last n tokens of the context (prompt plus output) occurred earlier, the tokens that
/// followed that earlier occurrence are proposed as the continuation. Pays where output copies its input: tool arguments
/// quoting the user, RAG answers quoting a passage, code edits. The longest n from <see cref="PromptLookupOptions.MaxNgram"/>
/// down is tried first, and of its matches the most recent one wins (the nearest context is the best predictor). A
/// continuation that runs into the end of the context continues periodically (<see cref="PromptLookupOptions.ExtendPeriodically"/>).
/// </summary>
/// <remarks>
/// The index is incremental: each position is hashed once per n when it becomes eligible, so a step costs O(MaxNgram²)
/// whatever the context length, not a scan of the context. Hash hits are checked token by token, so a collision can only
/// lose a draft, never propose a wrong span. Not thread-safe; one drafter per sequence.
/// </remarks>
public sealed class PromptLookupDrafter
{
    private readonly PromptLookupOptions _options;
    private readonly List<int> _tokens = [];
    private readonly Dictionary<ulong, int>[] _lastEnd; // per n: n-gram hash → most recent end (exclusive) of an occurrence
    private int _indexedEnds;                            // ends e < _indexedEnds are indexed (for every n ≤ e)

    /// <summary>Creates a drafter.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is invalid.</exception>
    public PromptLookupDrafter(PromptLookupOptions? options = null)
    {
        _options = options?.Clone() ?? new PromptLookupOptions();
        _options.Validate();
        _lastEnd = new Dictionary<ulong, int>[_options.MaxNgram + 1];
        for (int n = 1; n <= _options.MaxNgram; n++) _lastEnd[n] = [];
    }

    /// <summary>The settings.</summary>
    public PromptLookupOptions Options => _options.Clone();

    /// <summary>Length of the suffix the last <see cref="Propose"/> matched (0 when it proposed nothing): longer matches are surer.</summary>
    public int LastMatchLength { get; private set; }

    /// <summary>The context the index covers.</summary>
    public IReadOnlyList<int> Context => _tokens;

    /// <summary>Appends tokens to the context.</summary>
    public void Append(IEnumerable<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        _tokens.AddRange(tokens);
    }

    /// <summary>Appends one token to the context.</summary>
    public void Append(int token) => _tokens.Add(token);

    /// <summary>
    /// Brings the context in line with <paramref name="context"/>: the common case (the same tokens plus new ones) only appends;
    /// anything else (a rollback, another prompt) rebuilds the index from the new context.
    /// </summary>
    public void Sync(IReadOnlyList<int> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        int have = _tokens.Count;
        bool extends = have <= context.Count && (have == 0 || (context[have - 1] == _tokens[have - 1] && (have < 2 || context[have / 2] == _tokens[have / 2])));
        // A cheap spot check, not a full comparison: a stale index can only cost drafts, never change output (drafts are verified).
        if (!extends)
        {
            Reset();
            have = 0;
        }
        for (int i = have; i < context.Count; i++) _tokens.Add(context[i]);
    }

    /// <summary>Drops every token at or beyond <paramref name="length"/>.</summary>
    public void TruncateTo(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length >= _tokens.Count) return;
        var kept = _tokens.Take(length).ToList();
        Reset();
        _tokens.AddRange(kept);
    }

    /// <summary>Forgets the context.</summary>
    public void Reset()
    {
        _tokens.Clear();
        foreach (var map in _lastEnd) map?.Clear();
        _indexedEnds = 0;
    }

    /// <summary>
    /// Proposes up to <paramref name="maxTokens"/> (capped by <see cref="PromptLookupOptions.MaxDraftTokens"/>) tokens that
    /// followed the most recent earlier occurrence of the context's longest matching suffix; empty when nothing matches.
    /// </summary>
    public IReadOnlyList<int> Propose(int maxTokens = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxTokens);
        LastMatchLength = 0;
        int k = Math.Min(maxTokens, _options.MaxDraftTokens), length = _tokens.Count;
        if (k == 0 || length < _options.MinNgram + 1) return [];
        // Occurrences that end before the last token are eligible: the suffix itself ends at `length` and must not match itself.
        IndexUpTo(length - 1);
        for (int n = Math.Min(_options.MaxNgram, length - 1); n >= _options.MinNgram; n--)
        {
            ulong key = Hash(length - n, n);
            if (!_lastEnd[n].TryGetValue(key, out int end) || !Equal(end - n, length - n, n)) continue;
            int count = _options.ExtendPeriodically ? k : Math.Min(k, length - end);
            var draft = new int[count];
            // Past the context's end the copy reads its own proposal: the span from `end` repeats with period length − end.
            for (int i = 0; i < count; i++) draft[i] = end + i < length ? _tokens[end + i] : draft[end + i - length];
            LastMatchLength = n;
            return draft;
        }
        return [];
    }

    private void IndexUpTo(int lastEnd)
    {
        for (int end = Math.Max(_indexedEnds, 1); end <= lastEnd; end++)
            for (int n = 1; n <= _options.MaxNgram && n <= end; n++)
                _lastEnd[n][Hash(end - n, n)] = end;
        _indexedEnds = Math.Max(_indexedEnds, lastEnd + 1);
    }

    private ulong Hash(int start, int n)
    {
        // FNV-1a over the token ids; checked by Equal on every hit.
        ulong h = 14695981039346656037UL;
        for (int i = start; i < start + n; i++)
        {
            h ^= (uint)_tokens[i];
            h *= 1099511628211UL;
        }
        return h;
    }

    private bool Equal(int a, int b, int n)
    {
        for (int i = 0; i < n; i++)
            if (_tokens[a + i] != _tokens[b + i]) return false;
        return true;
    }
}
