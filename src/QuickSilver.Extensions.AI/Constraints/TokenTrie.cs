using System.Runtime.CompilerServices;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Extensions.AI.Constraints;

/// <summary>
/// Every token's output bytes in one trie, built once per tokenizer. Constrained decoding walks it together with the
/// grammar: a subtree is skipped as soon as its prefix is rejected, so a mask costs far less than one grammar run per token.
/// </summary>
internal sealed class TokenTrie
{
    private static readonly ConditionalWeakTable<ITokenizer, TokenTrie> Cache = [];

    private readonly List<Node> _nodes = [new Node()];

    private TokenTrie(ITokenizer tokenizer)
    {
        VocabSize = tokenizer.VocabSize;
        TokenBytes = new byte[VocabSize][];
        var empty = new List<int>();
        for (int id = 0; id < VocabSize; id++)
        {
            byte[] bytes = tokenizer.TokenBytes(id);
            TokenBytes[id] = bytes;
            if (bytes.Length == 0)
            {
                empty.Add(id);
                continue;
            }
            int node = 0;
            foreach (byte b in bytes)
            {
                Node current = _nodes[node];
                current.Children ??= [];
                if (!current.Children.TryGetValue(b, out int child))
                {
                    child = _nodes.Count;
                    _nodes.Add(new Node());
                    current.Children[b] = child;
                }
                node = child;
            }
            (_nodes[node].Tokens ??= []).Add(id);
        }
        EmptyTokens = [.. empty];
        PlainCharCounts = new int[VocabSize];
        var special = new List<int>();
        for (int id = 0; id < VocabSize; id++)
        {
            PlainCharCounts[id] = PlainCharCount(TokenBytes[id]);
            if (PlainCharCounts[id] < 0 && TokenBytes[id].Length > 0) special.Add(id);
        }
        NonPlainTokens = [.. special];
        foreach (Node node in _nodes)
        {
            node.Edges = node.Children?.OrderBy(kv => kv.Key).Select(kv => (kv.Key, kv.Value)).ToArray() ?? [];
            node.Children = null;
        }
    }

    public int VocabSize { get; }

    /// <summary>Bytes of every token (empty for control tokens).</summary>
    public byte[][] TokenBytes { get; }

    /// <summary>Tokens that add no bytes (BOS, EOS, padding).</summary>
    public int[] EmptyTokens { get; }

    public int NodeCount => _nodes.Count;

    /// <summary>
    /// For each token, the number of characters it adds inside a JSON string when all its bytes are plain string content
    /// (complete, valid UTF-8 characters other than '"', '\' and control characters); -1 otherwise.
    /// </summary>
    public int[] PlainCharCounts { get; }

    /// <summary>Tokens with bytes that are not plain string content (quotes, backslashes, control bytes, partial UTF-8).</summary>
    public int[] NonPlainTokens { get; }

    private static int PlainCharCount(byte[] bytes)
    {
        if (bytes.Length == 0) return -1;
        int chars = 0;
        for (int i = 0; i < bytes.Length;)
        {
            byte b = bytes[i];
            int extra;
            byte lo = 0x80, hi = 0xBF;
            switch (b)
            {
                case < 0x20 or (byte)'"' or (byte)'\\': return -1;
                case < 0x80: extra = 0; break;
                case >= 0xC2 and <= 0xDF: extra = 1; break;
                case 0xE0: extra = 2; lo = 0xA0; break;
                case 0xED: extra = 2; hi = 0x9F; break;
                case >= 0xE1 and <= 0xEF: extra = 2; break;
                case 0xF0: extra = 3; lo = 0x90; break;
                case >= 0xF1 and <= 0xF3: extra = 3; break;
                case 0xF4: extra = 3; hi = 0x8F; break;
                default: return -1;
            }
            if (i + extra >= bytes.Length && extra > 0) return -1;
            for (int k = 1; k <= extra; k++)
            {
                byte c = bytes[i + k];
                if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) return -1;
            }
            i += extra + 1;
            chars++;
        }
        return chars;
    }

    public static TokenTrie For(ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return Cache.GetValue(tokenizer, t => new TokenTrie(t));
    }

    /// <summary>
    /// Marks in <paramref name="allowed"/> every token whose bytes the <paramref name="step"/> function accepts from <paramref name="start"/>.
    /// </summary>
    /// <param name="start">The state before the token.</param>
    /// <param name="step">Advances a state by one byte; null rejects.</param>
    /// <param name="allowed">Receives the marks.</param>
    /// <param name="keep">Optional test of the state after a whole token (e.g. "can still finish within the budget").</param>
    public void Walk<TState>(TState start, Func<TState, byte, TState?> step, bool[] allowed, Func<TState, bool>? keep = null) where TState : class
        => Walk(0, start, step, allowed, keep);

    private void Walk<TState>(int nodeIndex, TState state, Func<TState, byte, TState?> step, bool[] allowed, Func<TState, bool>? keep) where TState : class
    {
        foreach ((byte b, int child) in _nodes[nodeIndex].Edges)
        {
            TState? next = step(state, b);
            if (next is null) continue;
            Node node = _nodes[child];
            if (node.Tokens is not null && (keep is null || keep(next)))
            {
                foreach (int id in node.Tokens) allowed[id] = true;
            }
            if (node.Edges.Length > 0) Walk(child, next, step, allowed, keep);
        }
    }

    /// <summary>
    /// The one token whose bytes start with <paramref name="first"/> and that <paramref name="step"/> accepts, given the state
    /// <paramref name="afterFirst"/> after that byte; -1 when there are none or several. Walks only that byte's subtree and
    /// stops at the second token, so it costs what the forced token's neighbourhood costs, not a vocabulary walk.
    /// </summary>
    public int OnlyTokenStartingWith<TState>(byte first, TState afterFirst, Func<TState, byte, TState?> step) where TState : class
    {
        int child = Child(0, first);
        if (child < 0) return -1;
        int found = -1, count = 0;
        CountFrom(child, afterFirst, step, ref found, ref count);
        return count == 1 ? found : -1;
    }

    private void CountFrom<TState>(int nodeIndex, TState state, Func<TState, byte, TState?> step, ref int found, ref int count) where TState : class
    {
        Node node = _nodes[nodeIndex];
        if (node.Tokens is not null)
        {
            count += node.Tokens.Count;
            found = node.Tokens[0];
            if (count > 1) return;
        }
        foreach ((byte b, int child) in node.Edges)
        {
            TState? next = step(state, b);
            if (next is null) continue;
            CountFrom(child, next, step, ref found, ref count);
            if (count > 1) return;
        }
    }

    private int Child(int nodeIndex, byte b)
    {
        (byte Byte, int Child)[] edges = _nodes[nodeIndex].Edges;
        int lo = 0, hi = edges.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (edges[mid].Byte == b) return edges[mid].Child;
            if (edges[mid].Byte < b) lo = mid + 1; else hi = mid - 1;
        }
        return -1;
    }

    /// <summary>
    /// The token with the longest bytes that are a prefix of <paramref name="bytes"/> (of several with the same bytes, the
    /// highest id: vocabularies list byte-fallback tokens before the pieces that spell the same text), or -1 when none is.
    /// </summary>
    public int LongestPrefixToken(ReadOnlySpan<byte> bytes)
    {
        int node = 0, best = -1;
        foreach (byte b in bytes)
        {
            int child = Child(node, b);
            if (child < 0) break;
            node = child;
            if (_nodes[node].Tokens is { } tokens) best = tokens.Max();
        }
        return best;
    }

    private sealed class Node
    {
        public Dictionary<byte, int>? Children;
        public (byte Byte, int Child)[] Edges = [];
        public List<int>? Tokens;
    }
}
