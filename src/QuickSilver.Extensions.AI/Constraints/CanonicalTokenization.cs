using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Extensions.AI.Constraints;

/// <summary>
/// How forced text (bytes every valid continuation starts with) is written as tokens: the tokenizer's own encoding of the
/// text when it spells exactly those bytes, else the longest-match token at each step. A pure function of the text, so
/// sampling under the constraint (one allowed token) and jump-forward (appending the same tokens) cannot disagree.
/// </summary>
internal sealed class CanonicalTokenization
{
    private static readonly ConditionalWeakTable<ITokenizer, CanonicalTokenization> Cache = [];

    private readonly ITokenizer _tokenizer;
    private readonly TokenTrie _trie;
    private readonly ConcurrentDictionary<string, int> _first = new(StringComparer.Ordinal);

    private CanonicalTokenization(ITokenizer tokenizer)
    {
        _tokenizer = tokenizer;
        _trie = TokenTrie.For(tokenizer);
    }

    public static CanonicalTokenization For(ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return Cache.GetValue(tokenizer, t => new CanonicalTokenization(t));
    }

    /// <summary>The first token of the canonical tokenization of <paramref name="text"/> (non-empty), or -1 when no token spells its start.</summary>
    public int FirstToken(ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty) return -1;
        // Latin-1 maps each byte to one char: a lossless key for any byte string, valid UTF-8 or not.
        string key = Encoding.Latin1.GetString(text);
        if (_first.TryGetValue(key, out int cached)) return cached;
        int first = Compute(text);
        _first.TryAdd(key, first);
        return first;
    }

    private int Compute(ReadOnlySpan<byte> text)
    {
        int encoded = FromEncoder(text);
        return encoded >= 0 ? encoded : _trie.LongestPrefixToken(text);
    }

    private int FromEncoder(ReadOnlySpan<byte> text)
    {
        string decoded;
        try
        {
            decoded = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(text);
        }
        catch (DecoderFallbackException)
        {
            return -1;  // the forced run ends inside a character: only the byte trie can split it
        }
        IReadOnlyList<int> ids = _tokenizer.Encode(decoded, addBos: false);
        if (ids.Count == 0 || (uint)ids[0] >= (uint)_trie.VocabSize || _trie.TokenBytes[ids[0]].Length == 0) return -1;
        // SentencePiece encoders add a dummy-prefix space, and normalizers may rewrite text: use the encoding only when it spells the bytes.
        int offset = 0;
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)_trie.VocabSize) return -1;
            byte[] bytes = _trie.TokenBytes[id];
            if (offset + bytes.Length > text.Length || !text.Slice(offset, bytes.Length).SequenceEqual(bytes)) return -1;
            offset += bytes.Length;
        }
        return offset == text.Length ? ids[0] : -1;
    }
}
