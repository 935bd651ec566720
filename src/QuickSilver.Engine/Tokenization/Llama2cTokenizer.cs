using System.Buffers.Binary;
using System.Text;

namespace QuickSilver.Engine.Tokenization;

/// <summary>
/// The tokenizer of llama2.c (<c>tok*.bin</c> / <c>tokenizer.bin</c>): uint32 <c>max_token_length</c>, then per token a
/// float32 score, an int32 byte length and the piece bytes. Ids 0, 1 and 2 are &lt;unk&gt;, BOS and EOS, as <c>run.c</c> assumes.
/// Any vocabulary size of at least 3 loads: custom vocabularies (BabyLlama's 105 tokens) have no byte tokens. Byte fallback uses
/// the pieces spelled <c>&lt;0xXX&gt;</c> (ids 3..258 in Llama 2's vocabulary); a byte with no such piece encodes to &lt;unk&gt;, where
/// <c>run.c</c> would emit id byte + 3 whether or not it exists. Encoding and decoding follow <see cref="ScoredBpeTokenizer"/>.
/// </summary>
/// <remarks>
/// The file stores no token types: BOS (1) and EOS (2) are the control tokens, &lt;unk&gt; (0) decodes to its piece text as in
/// <c>run.c</c>, and a piece spelled exactly <c>&lt;0xXX&gt;</c> (two hex digits) decodes to that byte. Pieces are raw bytes;
/// <see cref="ScoredBpeTokenizer.TokenPiece"/> shows them as UTF-8 (invalid bytes as U+FFFD).
/// Instances are immutable and safe to share between threads.
/// </remarks>
public sealed class Llama2cTokenizer : ScoredBpeTokenizer
{
    /// <summary>Largest <c>max_token_length</c> accepted; real files have a few dozen at most.</summary>
    public const int MaxAcceptedTokenLength = 1 << 16;

    /// <summary>Largest file accepted: Llama 2's 32,000-token file is 434 KB, so 256 MiB is generous.</summary>
    public const long MaxFileBytes = 256L << 20;

    /// <summary>The unknown-token id llama2.c assumes.</summary>
    public const int UnknownId = 0;

    /// <summary>The BOS id llama2.c assumes.</summary>
    public const int BosId = 1;

    /// <summary>The EOS id llama2.c assumes.</summary>
    public const int EosId = 2;

    /// <summary>Id of the byte token for byte 0 in Llama 2's vocabulary (byte b is id b + 3 there).</summary>
    public const int FirstByteTokenId = 3;

    private Llama2cTokenizer(string source, int maxTokenLength, string[] pieces, byte[][] pieceBytes, float[] scores,
        bool[] isControl, int[] byteValue, bool[] inLookup, int[] byteFallbackIds)
        : base(source, pieces, pieceBytes, scores, isControl, byteValue, inLookup, byteFallbackIds, BosId, EosId)
    {
        MaxTokenLength = maxTokenLength;
    }

    /// <summary>The fewest tokens a file may hold: &lt;unk&gt;, BOS and EOS.</summary>
    public const int MinimumTokens = 3;

    /// <summary>The <c>max_token_length</c> header value.</summary>
    public int MaxTokenLength { get; }

    /// <summary>Reads a llama2.c tokenizer file.</summary>
    /// <param name="path">The <c>tok*.bin</c> file.</param>
    /// <param name="vocabSize">
    /// The model's vocabulary size: exactly that many tokens are read, as <c>run.c</c> does (bytes after them are ignored).
    /// Null reads tokens until the end of the file.
    /// </param>
    /// <exception cref="TokenizerException">The file is missing, truncated or inconsistent.</exception>
    public static Llama2cTokenizer Load(string path, int? vocabSize = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] data;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxFileBytes)
            {
                throw new TokenizerException($"'{path}' is {info.Length} bytes; a llama2.c tokenizer file is at most {MaxFileBytes} bytes (is this a model checkpoint?).");
            }
            data = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TokenizerException($"Cannot read llama2.c tokenizer file '{path}': {ex.Message}", ex);
        }
        return Parse(data, path, vocabSize);
    }

    /// <summary>Parses the bytes of a llama2.c tokenizer file.</summary>
    /// <param name="data">The whole file.</param>
    /// <param name="source">The file name used in error messages.</param>
    /// <param name="vocabSize">As in <see cref="Load"/>.</param>
    /// <exception cref="TokenizerException">The data is truncated or inconsistent.</exception>
    public static Llama2cTokenizer Parse(ReadOnlySpan<byte> data, string source, int? vocabSize = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (vocabSize is { } expected && expected < MinimumTokens)
        {
            throw new TokenizerException($"Vocabulary size {expected} given for '{source}' is below {MinimumTokens}: llama2.c needs <unk>, BOS and EOS.");
        }
        if (data.Length < 4)
        {
            throw new TokenizerException($"llama2.c tokenizer '{source}' is truncated: {data.Length} bytes, no max_token_length header.");
        }
        uint maxTokenLength = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (maxTokenLength is 0 or > MaxAcceptedTokenLength)
        {
            throw new TokenizerException($"llama2.c tokenizer '{source}' has max_token_length {maxTokenLength}; expected 1..{MaxAcceptedTokenLength}.");
        }

        // Each token needs at least 8 bytes, so the file length bounds the count before anything is allocated.
        int capacity = vocabSize ?? (data.Length - 4) / 8;
        var pieceBytes = new List<byte[]>(Math.Min(capacity, (data.Length - 4) / 8));
        var scores = new List<float>(pieceBytes.Capacity);
        int offset = 4;
        while (vocabSize is { } n ? pieceBytes.Count < n : offset < data.Length)
        {
            int id = pieceBytes.Count;
            if (data.Length - offset < 8)
            {
                throw new TokenizerException(vocabSize is { } want && offset == data.Length
                    ? $"llama2.c tokenizer '{source}' holds {id} tokens; the model needs {want}."
                    : $"llama2.c tokenizer '{source}' is truncated in the header of token {id} at byte {offset}.");
            }
            float score = BinaryPrimitives.ReadSingleLittleEndian(data[offset..]);
            int length = BinaryPrimitives.ReadInt32LittleEndian(data[(offset + 4)..]);
            offset += 8;
            if (length < 0)
            {
                throw new TokenizerException($"llama2.c tokenizer '{source}': token {id} has negative length {length}.");
            }
            if (length > maxTokenLength)
            {
                throw new TokenizerException($"llama2.c tokenizer '{source}': token {id} is {length} bytes, longer than max_token_length {maxTokenLength}.");
            }
            if (length > data.Length - offset)
            {
                throw new TokenizerException($"llama2.c tokenizer '{source}': token {id} needs {length} bytes at byte {offset}, beyond the end of the file ({data.Length} bytes).");
            }
            pieceBytes.Add(data.Slice(offset, length).ToArray());
            scores.Add(score);
            offset += length;
        }

        int count = pieceBytes.Count;
        if (count < MinimumTokens)
        {
            throw new TokenizerException($"llama2.c tokenizer '{source}' has {count} tokens; llama2.c needs at least {MinimumTokens} (<unk>, BOS and EOS).");
        }

        var pieces = new string[count];
        var isControl = new bool[count];
        var byteValue = new int[count];
        var inLookup = new bool[count];
        for (int id = 0; id < count; id++)
        {
            pieces[id] = TokenDecoding.Utf8.GetString(pieceBytes[id]);
            isControl[id] = id is BosId or EosId;
            byteValue[id] = ParseByteToken(pieceBytes[id]);
            inLookup[id] = true; // run.c looks every piece up, control and byte tokens included
        }
        // Byte fallback only to byte tokens the vocabulary has (the lowest id spelling each byte); other bytes become <unk>.
        var byteFallbackIds = new int[256];
        Array.Fill(byteFallbackIds, -1);
        for (int id = 0; id < count; id++)
        {
            if (byteValue[id] >= 0 && byteFallbackIds[byteValue[id]] < 0)
            {
                byteFallbackIds[byteValue[id]] = id;
            }
        }
        for (int b = 0; b < 256; b++)
        {
            if (byteFallbackIds[b] < 0)
            {
                byteFallbackIds[b] = UnknownId;
            }
        }
        return new Llama2cTokenizer(Path.GetFileName(source), (int)maxTokenLength, pieces, [.. pieceBytes], [.. scores],
            isControl, byteValue, inLookup, byteFallbackIds);
    }

    /// <summary>The byte of a piece spelled exactly <c>&lt;0xXX&gt;</c> (two hex digits), else -1.</summary>
    internal static int ParseByteToken(ReadOnlySpan<byte> piece)
    {
        if (piece.Length != 6 || piece[0] != '<' || piece[1] != '0' || piece[2] != 'x' || piece[5] != '>')
        {
            return -1;
        }
        int high = HexValue(piece[3]), low = HexValue(piece[4]);
        return high < 0 || low < 0 ? -1 : high * 16 + low;

        static int HexValue(byte c) => c switch
        {
            >= (byte)'0' and <= (byte)'9' => c - '0',
            >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
            >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
            _ => -1,
        };
    }

    /// <summary>Same as <see cref="ParseByteToken(ReadOnlySpan{byte})"/> for a string piece.</summary>
    internal static int ParseByteToken(string piece) =>
        piece.Length == 6 ? ParseByteToken(Encoding.ASCII.GetBytes(piece)) : -1;
}
