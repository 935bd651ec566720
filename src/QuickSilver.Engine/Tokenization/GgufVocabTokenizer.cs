using System.Text;

namespace QuickSilver.Engine.Tokenization;

/// <summary>
/// A SentencePiece-BPE tokenizer built from the GGUF metadata arrays of a <c>tokenizer.ggml.model = "llama"</c> file
/// (<c>tokenizer.ggml.tokens</c>, <c>scores</c>, <c>token_type</c> and the BOS/EOS/unknown ids). Pieces spell space as
/// U+2581 (▁); encoding and decoding follow <see cref="ScoredBpeTokenizer"/> with that character read as a space.
/// </summary>
/// <remarks>
/// Control and unknown tokens are never produced from text. Byte fallback uses the <see cref="GgufTokenType.Byte"/>
/// tokens <c>&lt;0xXX&gt;</c>; a byte with no such token falls back to the unknown token.
/// </remarks>
public sealed class GgufVocabTokenizer : ScoredBpeTokenizer
{
    /// <summary>The space marker SentencePiece stores in pieces.</summary>
    public const char SpaceMarker = '\u2581';

    /// <summary>Builds the tokenizer from the GGUF tokenizer arrays.</summary>
    /// <param name="tokens"><c>tokenizer.ggml.tokens</c>.</param>
    /// <param name="scores"><c>tokenizer.ggml.scores</c>, one per token.</param>
    /// <param name="tokenTypes"><c>tokenizer.ggml.token_type</c> (see <see cref="GgufTokenType"/>), one per token; null
    /// treats <c>&lt;0xXX&gt;</c> pieces as byte tokens and the rest as normal.</param>
    /// <param name="bosTokenId"><c>tokenizer.ggml.bos_token_id</c>, or -1 when absent.</param>
    /// <param name="eosTokenId"><c>tokenizer.ggml.eos_token_id</c>, or -1 when absent.</param>
    /// <param name="unknownTokenId"><c>tokenizer.ggml.unknown_token_id</c>, or -1 when absent.</param>
    /// <param name="source">The file named in error messages.</param>
    /// <exception cref="TokenizerException">The arrays disagree in length, an id is out of range or a byte token is malformed.</exception>
    public GgufVocabTokenizer(string[] tokens, float[] scores, int[]? tokenTypes, int bosTokenId, int eosTokenId, int unknownTokenId, string source = "GGUF")
        : this(Build(tokens, scores, tokenTypes, bosTokenId, eosTokenId, unknownTokenId, source ?? "GGUF"))
    {
    }

    private GgufVocabTokenizer(Parts p)
        : base(p.Source, p.Pieces, p.PieceBytes, p.Scores, p.IsControl, p.ByteValue, p.InLookup, p.ByteFallbackIds, p.Bos, p.Eos)
    {
        UnknownTokenId = p.Unknown;
    }

    /// <summary>The unknown-token id, or -1.</summary>
    public int UnknownTokenId { get; }

    private static Parts Build(string[] tokens, float[] scores, int[]? tokenTypes, int bos, int eos, int unknown, string source)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(scores);
        int count = tokens.Length;
        if (count == 0)
        {
            throw new TokenizerException($"{source}: tokenizer.ggml.tokens is empty.");
        }
        if (scores.Length != count)
        {
            throw new TokenizerException($"{source}: tokenizer.ggml.scores has {scores.Length} entries but tokenizer.ggml.tokens has {count}.");
        }
        if (tokenTypes is not null && tokenTypes.Length != count)
        {
            throw new TokenizerException($"{source}: tokenizer.ggml.token_type has {tokenTypes.Length} entries but tokenizer.ggml.tokens has {count}.");
        }
        CheckSpecialId(bos, "tokenizer.ggml.bos_token_id");
        CheckSpecialId(eos, "tokenizer.ggml.eos_token_id");
        CheckSpecialId(unknown, "tokenizer.ggml.unknown_token_id");

        var pieceBytes = new byte[count][];
        var isControl = new bool[count];
        var byteValue = new int[count];
        var inLookup = new bool[count];
        var byteFallbackIds = new int[256];
        Array.Fill(byteFallbackIds, -1);
        for (int id = 0; id < count; id++)
        {
            string piece = tokens[id] ?? throw new TokenizerException($"{source}: tokenizer.ggml.tokens[{id}] is null.");
            pieceBytes[id] = Encoding.UTF8.GetBytes(piece.Replace(SpaceMarker, ' '));
            var type = tokenTypes is null
                ? (Llama2cTokenizer.ParseByteToken(piece) >= 0 ? GgufTokenType.Byte : GgufTokenType.Normal)
                : (GgufTokenType)tokenTypes[id];
            byteValue[id] = -1;
            if (type == GgufTokenType.Byte)
            {
                int value = Llama2cTokenizer.ParseByteToken(piece);
                if (value < 0)
                {
                    throw new TokenizerException($"{source}: token {id} has token_type byte (6) but its piece '{piece}' is not <0xXX>.");
                }
                byteValue[id] = value;
                if (byteFallbackIds[value] < 0)
                {
                    byteFallbackIds[value] = id;
                }
            }
            isControl[id] = type == GgufTokenType.Control || id == bos || id == eos;
            inLookup[id] = !isControl[id] && type != GgufTokenType.Unknown && id != unknown;
        }
        for (int b = 0; b < 256; b++)
        {
            if (byteFallbackIds[b] < 0)
            {
                byteFallbackIds[b] = unknown >= 0
                    ? unknown
                    : throw new TokenizerException($"{source}: the vocabulary has no byte token <0x{b:X2}> and no unknown token to fall back to.");
            }
        }
        return new Parts(Path.GetFileName(source), tokens.ToArray(), pieceBytes, scores.ToArray(), isControl, byteValue, inLookup, byteFallbackIds, bos, eos, unknown);

        void CheckSpecialId(int id, string key)
        {
            if (id < -1 || id >= count)
            {
                throw new TokenizerException($"{source}: {key} = {id} is outside the vocabulary of {count} tokens.");
            }
        }
    }

    private sealed record Parts(string Source, string[] Pieces, byte[][] PieceBytes, float[] Scores, bool[] IsControl,
        int[] ByteValue, bool[] InLookup, int[] ByteFallbackIds, int Bos, int Eos, int Unknown);
}
