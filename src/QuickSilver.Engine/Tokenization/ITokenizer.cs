namespace QuickSilver.Engine.Tokenization;

/// <summary>The one tokenizer contract the engine uses, whatever the file format.</summary>
public interface ITokenizer
{
    /// <summary>Number of token ids.</summary>
    int VocabSize { get; }

    /// <summary>Beginning-of-sequence id, or -1 when the vocabulary has none.</summary>
    int BosTokenId { get; }

    /// <summary>End-of-sequence id, or -1 when the vocabulary has none.</summary>
    int EosTokenId { get; }

    /// <summary>Encodes text. <paramref name="addBos"/> prepends BOS when the vocabulary has one.</summary>
    IReadOnlyList<int> Encode(string text, bool addBos);

    /// <summary>Decodes ids to text. Invalid UTF-8 from byte tokens becomes U+FFFD.</summary>
    string Decode(IEnumerable<int> ids);

    /// <summary>
    /// The raw bytes a token contributes to the output (UTF-8, after byte-fallback and the byte-level
    /// alphabet are undone). Used by streaming detokenization and constrained decoding. Control tokens give an empty array.
    /// </summary>
    byte[] TokenBytes(int id);

    /// <summary>
    /// The bytes a token contributes when it begins the text: when it is the first id given to a decoder or directly
    /// follows <see cref="BosTokenId"/>. SentencePiece-style vocabularies drop one leading space here (the dummy prefix
    /// the encoder added); other vocabularies return <see cref="TokenBytes(int)"/>.
    /// </summary>
    byte[] TokenBytesAtTextStart(int id) => TokenBytes(id);

    /// <summary>The piece string as stored in the vocabulary (for display and lexicon matching).</summary>
    string TokenPiece(int id);

    /// <summary>True for control tokens (BOS, EOS, padding) that never appear in decoded text.</summary>
    bool IsControl(int id);
}
