using System.Text;

namespace QuickSilver.Engine.Tokenization;

/// <summary>
/// SentencePiece-BPE as llama2.c's <c>run.c</c> encodes it: a vocabulary of pieces with scores, merged greedily by score.
/// <see cref="Llama2cTokenizer"/> (llama2.c <c>tok*.bin</c>) and <see cref="GgufVocabTokenizer"/> (GGUF <c>tokenizer.ggml.*</c>
/// arrays) are the two ways to build one.
/// </summary>
/// <remarks>
/// <para>Encoding, exactly as <c>run.c</c>: BOS first when requested; for non-empty text a dummy-prefix space is put in front;
/// every UTF-8 code point that is a piece becomes that piece, otherwise each of its bytes b becomes the byte token
/// <c>&lt;0xXX&gt;</c> (byte fallback); then the adjacent pair whose concatenated piece text is in the vocabulary with the
/// highest score is merged, the leftmost pair winning ties, until no pair merges. Pieces are matched by their exact text,
/// so a byte token takes part in merges under its literal text <c>&lt;0xXX&gt;</c>, as in <c>run.c</c>; a score not
/// above -1e10 (or NaN) never merges, also as in <c>run.c</c>. Where two pieces have the same text the lowest id is used.
/// Text is converted to UTF-8 first; an unpaired surrogate becomes U+FFFD.</para>
/// <para>The merge loop keeps the symbols in a linked list and the candidate pairs in a priority queue ordered by
/// (score descending, position ascending), so encoding costs O(n log n) rather than <c>run.c</c>'s O(n²), and gives the same
/// ids: the queue always holds every current adjacent pair, and the surviving symbols keep their relative order, so its
/// head is the pair <c>run.c</c>'s rescan would pick.</para>
/// <para>Decoding: control tokens contribute nothing; byte tokens contribute their byte; other pieces contribute their text.
/// One leading space is dropped from a (non-byte) piece that begins the text, that is, the first id decoded or an id
/// right after BOS (<c>run.c</c> strips it after BOS; the start of the ids is treated the same so that decoding the ids
/// after BOS restores the text). Hence <c>Decode(Encode(s, addBos))</c> equals <c>s</c> (after unpaired surrogates become
/// U+FFFD) for every string whenever the vocabulary has a <c>" "</c> piece, no piece other than the byte tokens contains
/// the literal text <c>&lt;0x</c>, and no control piece can be formed by merging (all true of tok512.bin, Llama 2's
/// tokenizer.bin and GGUF vocabularies, where control pieces are excluded from matching).</para>
/// <para>Instances are immutable; <see cref="Encode"/> and <see cref="Decode"/> are safe to call from several threads.</para>
/// </remarks>
public abstract class ScoredBpeTokenizer : ITokenizer
{
    private const float MinimumMergeScore = -1e10f;

    private readonly string[] _pieces;
    private readonly string[] _mergeKeys;
    private readonly byte[][] _outputBytes;
    private readonly float[] _scores;
    private readonly bool[] _isControl;
    private readonly int[] _byteValue;
    private readonly int[] _byteFallbackIds;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly int _longestMergeKey;
    private readonly string _source;

    /// <summary>Builds the tokenizer from per-token data already validated by the derived class.</summary>
    /// <param name="source">The file or origin named in error messages.</param>
    /// <param name="pieces">Piece strings as stored, for <see cref="TokenPiece"/>.</param>
    /// <param name="pieceBytes">The text of each piece as UTF-8 bytes with spaces as 0x20: what merges match and what decoding emits.</param>
    /// <param name="scores">Merge scores; higher merges first.</param>
    /// <param name="isControl">Control tokens (decode to nothing).</param>
    /// <param name="byteValue">The byte a byte token stands for, or -1.</param>
    /// <param name="inLookup">Whether text may encode to the token.</param>
    /// <param name="byteFallbackIds">The id used for each byte value when a code point is not a piece.</param>
    /// <param name="bosTokenId">BOS id or -1.</param>
    /// <param name="eosTokenId">EOS id or -1.</param>
    private protected ScoredBpeTokenizer(
        string source, string[] pieces, byte[][] pieceBytes, float[] scores, bool[] isControl, int[] byteValue,
        bool[] inLookup, int[] byteFallbackIds, int bosTokenId, int eosTokenId)
    {
        _source = source;
        _pieces = pieces;
        _scores = scores;
        _isControl = isControl;
        _byteValue = byteValue;
        _byteFallbackIds = byteFallbackIds;
        BosTokenId = bosTokenId;
        EosTokenId = eosTokenId;

        _mergeKeys = new string[pieces.Length];
        _outputBytes = new byte[pieces.Length][];
        var lookup = new Dictionary<string, int>(pieces.Length, StringComparer.Ordinal);
        for (int id = 0; id < pieces.Length; id++)
        {
            // Latin-1 maps each byte to one char, so piece texts concatenate and compare exactly as C strings of bytes.
            _mergeKeys[id] = Encoding.Latin1.GetString(pieceBytes[id]);
            _outputBytes[id] = isControl[id] ? [] : byteValue[id] >= 0 ? [(byte)byteValue[id]] : pieceBytes[id];
            if (inLookup[id] && lookup.TryAdd(_mergeKeys[id], id))
            {
                _longestMergeKey = Math.Max(_longestMergeKey, _mergeKeys[id].Length);
            }
        }
        _lookup = lookup.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <inheritdoc />
    public int VocabSize => _pieces.Length;

    /// <inheritdoc />
    public int BosTokenId { get; }

    /// <inheritdoc />
    public int EosTokenId { get; }

    /// <summary>The merge score of a token (higher merges first).</summary>
    public float Score(int id) => _scores[CheckId(id)];

    /// <summary>True for byte-fallback tokens (<c>&lt;0xXX&gt;</c>).</summary>
    public bool IsByteToken(int id) => _byteValue[CheckId(id)] >= 0;

    /// <inheritdoc />
    public virtual IReadOnlyList<int> Encode(string text, bool addBos)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new List<int>();
        if (addBos && BosTokenId >= 0)
        {
            result.Add(BosTokenId);
        }
        // The dummy prefix is just a leading space: run.c appends the id of " ", which is what the space code point maps to.
        EncodeFragment(text, dummyPrefix: true, result);
        return result;
    }

    /// <inheritdoc />
    public virtual IReadOnlyList<int> EncodeWithSpecialTokens(string text, bool addBos) => Encode(text, addBos);

    /// <summary>Appends the ids of <paramref name="text"/> (nothing for empty text), with a leading space when <paramref name="dummyPrefix"/>.</summary>
    private protected void EncodeFragment(string text, bool dummyPrefix, List<int> output)
    {
        if (text.Length == 0)
        {
            return;
        }
        byte[] utf8 = TokenDecoding.Utf8.GetBytes(dummyPrefix ? " " + text : text);
        int[] symbols = SplitIntoSymbols(utf8, out int count);
        MergeInPlace(symbols, count, output);
    }

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids) => TokenDecoding.Decode(this, ids);

    /// <inheritdoc />
    public byte[] TokenBytes(int id) => (byte[])_outputBytes[CheckId(id)].Clone();

    /// <inheritdoc />
    public byte[] TokenBytesAtTextStart(int id)
    {
        byte[] bytes = _outputBytes[CheckId(id)];
        return _byteValue[id] < 0 && bytes.Length > 0 && bytes[0] == (byte)' ' ? bytes[1..] : (byte[])bytes.Clone();
    }

    /// <inheritdoc />
    public string TokenPiece(int id) => _pieces[CheckId(id)];

    /// <inheritdoc />
    public bool IsControl(int id) => _isControl[CheckId(id)];

    private int CheckId(int id) =>
        (uint)id < (uint)_pieces.Length ? id : throw TokenDecoding.OutOfRange(id, _pieces.Length, _source);

    private int[] SplitIntoSymbols(byte[] utf8, out int count)
    {
        var symbols = new int[utf8.Length];
        count = 0;
        Span<char> key = stackalloc char[4];
        for (int start = 0; start < utf8.Length;)
        {
            // run.c groups a byte with the continuation bytes that follow it, at most 4 bytes: one code point of valid UTF-8.
            int end = start + 1;
            while (end < utf8.Length && (utf8[end] & 0xC0) == 0x80 && end - start < 4)
            {
                end++;
            }
            for (int i = start; i < end; i++)
            {
                key[i - start] = (char)utf8[i];
            }
            if (_lookup.TryGetValue(key[..(end - start)], out int id))
            {
                symbols[count++] = id;
            }
            else
            {
                for (int i = start; i < end; i++)
                {
                    symbols[count++] = _byteFallbackIds[utf8[i]];
                }
            }
            start = end;
        }
        return symbols;
    }

    private void MergeInPlace(int[] symbols, int count, List<int> output)
    {
        var next = new int[count];
        var previous = new int[count];
        var version = new int[count];
        for (int i = 0; i < count; i++)
        {
            next[i] = i + 1 < count ? i + 1 : -1;
            previous[i] = i - 1;
        }

        var queue = new PriorityQueue<MergeCandidate, MergeCandidate>(Math.Max(count, 1), MergeCandidate.BestFirst);
        char[] pairBuffer = new char[_longestMergeKey];
        for (int i = 0; i + 1 < count; i++)
        {
            TryEnqueue(i, i + 1);
        }

        while (queue.TryDequeue(out MergeCandidate candidate, out _))
        {
            int left = candidate.Left, right = candidate.Right;
            if (version[left] != candidate.LeftVersion || version[right] != candidate.RightVersion || next[left] != right)
            {
                continue; // stale: one side merged or vanished since this pair was queued
            }
            symbols[left] = candidate.MergedId;
            version[left]++;
            version[right]++;
            next[left] = next[right];
            if (next[right] >= 0)
            {
                previous[next[right]] = left;
            }
            next[right] = -2; // removed
            if (previous[left] >= 0)
            {
                TryEnqueue(previous[left], left);
            }
            if (next[left] >= 0)
            {
                TryEnqueue(left, next[left]);
            }
        }

        for (int i = 0; i >= 0 && count > 0; i = next[i])
        {
            output.Add(symbols[i]);
        }

        void TryEnqueue(int left, int right)
        {
            string a = _mergeKeys[symbols[left]], b = _mergeKeys[symbols[right]];
            int length = a.Length + b.Length;
            if (length > pairBuffer.Length)
            {
                return; // longer than any piece
            }
            a.CopyTo(pairBuffer);
            b.CopyTo(pairBuffer.AsSpan(a.Length));
            if (_lookup.TryGetValue(pairBuffer.AsSpan(0, length), out int merged) && _scores[merged] > MinimumMergeScore)
            {
                var candidate = new MergeCandidate(_scores[merged], left, right, version[left], version[right], merged);
                queue.Enqueue(candidate, candidate);
            }
        }
    }

    private readonly record struct MergeCandidate(float Score, int Left, int Right, int LeftVersion, int RightVersion, int MergedId)
    {
        public static readonly IComparer<MergeCandidate> BestFirst = Comparer<MergeCandidate>.Create(static (x, y) =>
        {
            int byScore = y.Score.CompareTo(x.Score);
            return byScore != 0 ? byScore : x.Left.CompareTo(y.Left);
        });
    }
}
