using System.Collections.Concurrent;
using System.Text;

namespace QuickSilver.Engine.Tokenization.HuggingFace;

/// <summary>
/// The BPE model of the Hugging Face tokenizers library (<c>models::bpe::BPE</c>): a word is split into characters,
/// then the adjacent pair with the lowest merge rank (leftmost on ties) is merged until no pair has a merge.
/// </summary>
/// <remarks>
/// <para>A character that is not in the vocabulary becomes its UTF-8 bytes as <c>&lt;0xXX&gt;</c> tokens when
/// <c>byte_fallback</c> is on and all of them exist, else the unknown token (consecutive ones fused when
/// <c>fuse_unk</c>), else it is dropped, as the reference drops it. With <c>ignore_merges</c> a word that is itself in
/// the vocabulary is that token, whatever the merges would give (Llama 3).</para>
/// <para>Own code rather than Microsoft.ML.Tokenizers' <c>BpeTokenizer</c>, which has neither <c>ignore_merges</c> nor
/// <c>byte_fallback</c>. Instances are immutable apart from a thread-safe word cache.</para>
/// </remarks>
internal sealed class HfBpeModel
{
    private const int CacheLimit = 100_000;
    private const int CacheableLength = 64;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<long, (int Rank, int Merged)> _merges;
    private readonly int[]? _byteTokens;
    private readonly int _unknownId;
    private readonly bool _fuseUnknown;
    private readonly bool _ignoreMerges;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    /// <summary>Builds the model.</summary>
    /// <param name="vocab">Token text → id.</param>
    /// <param name="merges">The merges in rank order, as (left, right) token texts.</param>
    /// <param name="unknownToken">The unknown token text, or null.</param>
    /// <param name="byteFallback">Whether unknown characters become <c>&lt;0xXX&gt;</c> byte tokens.</param>
    /// <param name="fuseUnknown">Whether consecutive unknown tokens become one.</param>
    /// <param name="ignoreMerges">Whether a word found whole in the vocabulary skips merging.</param>
    /// <param name="source">The file named in errors.</param>
    /// <exception cref="TokenizerException">A merge names a token that is not in the vocabulary, or so does <paramref name="unknownToken"/>.</exception>
    public HfBpeModel(Dictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges, string? unknownToken,
        bool byteFallback, bool fuseUnknown, bool ignoreMerges, string source)
    {
        _vocab = vocab;
        _fuseUnknown = fuseUnknown;
        _ignoreMerges = ignoreMerges;
        _unknownId = -1;
        if (unknownToken is not null && !vocab.TryGetValue(unknownToken, out _unknownId))
        {
            throw new TokenizerException($"{source}: model.unk_token '{unknownToken}' is not in model.vocab.");
        }
        _merges = new Dictionary<long, (int, int)>(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            if (!vocab.TryGetValue(left, out int a) || !vocab.TryGetValue(right, out int b) || !vocab.TryGetValue(left + right, out int merged))
            {
                throw new TokenizerException($"{source}: merge {rank} '{left} {right}' uses a token that is not in the vocabulary.");
            }
            _merges.TryAdd(Key(a, b), (rank, merged));
        }
        if (byteFallback)
        {
            _byteTokens = new int[256];
            for (int b = 0; b < 256; b++)
            {
                _byteTokens[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
            }
        }
    }

    /// <summary>Token text → id of the model vocabulary.</summary>
    public IReadOnlyDictionary<string, int> Vocabulary => _vocab;

    /// <summary>Appends the ids of one pre-tokenized word to <paramref name="output"/>.</summary>
    public void Encode(string word, List<int> output)
    {
        if (word.Length == 0)
        {
            return;
        }
        if (_ignoreMerges && _vocab.TryGetValue(word, out int whole))
        {
            output.Add(whole);
            return;
        }
        if (word.Length <= CacheableLength && _cache.TryGetValue(word, out int[]? cached))
        {
            output.AddRange(cached);
            return;
        }
        int[] ids = Merge(Characters(word));
        if (word.Length <= CacheableLength)
        {
            if (_cache.Count >= CacheLimit)
            {
                _cache.Clear();
            }
            _cache.TryAdd(word, ids);
        }
        output.AddRange(ids);
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    private List<int> Characters(string word)
    {
        var symbols = new List<int>(word.Length);
        bool previousUnknown = false;
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < word.Length;)
        {
            int width = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            string character = word.Substring(i, width);
            i += width;
            if (_vocab.TryGetValue(character, out int id))
            {
                symbols.Add(id);
                previousUnknown = false;
                continue;
            }
            if (_byteTokens is not null && TryBytes(character, utf8, symbols))
            {
                previousUnknown = false;
                continue;
            }
            if (_unknownId >= 0)
            {
                if (!(_fuseUnknown && previousUnknown))
                {
                    symbols.Add(_unknownId);
                }
                previousUnknown = true;
            }
        }
        return symbols;
    }

    private bool TryBytes(string character, Span<byte> buffer, List<int> symbols)
    {
        int count = TokenDecoding.Utf8.GetBytes(character, buffer);
        for (int j = 0; j < count; j++)
        {
            if (_byteTokens![buffer[j]] < 0)
            {
                return false;
            }
        }
        for (int j = 0; j < count; j++)
        {
            symbols.Add(_byteTokens![buffer[j]]);
        }
        return true;
    }

    private int[] Merge(List<int> symbols)
    {
        int count = symbols.Count;
        var ids = symbols.ToArray();
        var next = new int[count];
        var previous = new int[count];
        var alive = new bool[count];
        for (int i = 0; i < count; i++)
        {
            next[i] = i + 1 < count ? i + 1 : -1;
            previous[i] = i - 1;
            alive[i] = true;
        }
        // (left position, merged id) ordered by (rank, left position), as the reference's heap orders its merges.
        var queue = new PriorityQueue<(int Left, int Merged), (int Rank, int Left)>();
        for (int i = 0; i + 1 < count; i++)
        {
            Enqueue(i);
        }
        while (queue.TryDequeue(out var top, out _))
        {
            int left = top.Left;
            if (!alive[left] || next[left] < 0)
            {
                continue;
            }
            int right = next[left];
            if (!_merges.TryGetValue(Key(ids[left], ids[right]), out var merge) || merge.Merged != top.Merged)
            {
                continue; // stale: a neighbour changed since this pair was queued
            }
            ids[left] = merge.Merged;
            alive[right] = false;
            next[left] = next[right];
            if (next[right] >= 0)
            {
                previous[next[right]] = left;
            }
            if (previous[left] >= 0)
            {
                Enqueue(previous[left]);
            }
            Enqueue(left);
        }
        var result = new List<int>(count);
        for (int i = 0; i >= 0 && count > 0; i = next[i])
        {
            result.Add(ids[i]);
        }
        return [.. result];

        void Enqueue(int left)
        {
            int right = next[left];
            if (right >= 0 && _merges.TryGetValue(Key(ids[left], ids[right]), out var merge))
            {
                queue.Enqueue((left, merge.Merged), (merge.Rank, left));
            }
        }
    }
}
