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

    public static TokenTrie For(ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return Cache.GetValue(tokenizer, t => new TokenTrie(t));
    }

    /// <summary>
    /// Marks in <paramref name="allowed"/> every token whose bytes the <paramref name="step"/> function accepts from <paramref name="start"/>.
    /// </summary>
    public void Walk<TState>(TState start, Func<TState, byte, TState?> step, bool[] allowed) where TState : class
        => Walk(0, start, step, allowed);

    private void Walk<TState>(int nodeIndex, TState state, Func<TState, byte, TState?> step, bool[] allowed) where TState : class
    {
        foreach ((byte b, int child) in _nodes[nodeIndex].Edges)
        {
            TState? next = step(state, b);
            if (next is null) continue;
            Node node = _nodes[child];
            if (node.Tokens is not null)
            {
                foreach (int id in node.Tokens) allowed[id] = true;
            }
            if (node.Edges.Length > 0) Walk(child, next, step, allowed);
        }
    }

    private sealed class Node
    {
        public Dictionary<byte, int>? Children;
        public (byte Byte, int Child)[] Edges = [];
        public List<int>? Tokens;
    }
}
