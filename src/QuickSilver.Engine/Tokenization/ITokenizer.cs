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

    /// <summary>
    /// Encodes user text. <paramref name="addBos"/> prepends BOS when the vocabulary has one. Special-token text such as
    /// <c>&lt;|eot_id|&gt;</c> is encoded as plain text (see <see cref="EncodeWithSpecialTokens"/>).
    /// </summary>
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

    /// <summary>
    /// Whether the model expects BOS in front of a prompt (tokenizer_config.json <c>add_bos_token</c>, the
    /// tokenizer.json post-processor, or GGUF <c>tokenizer.ggml.add_bos_token</c>). Qwen-style vocabularies say false.
    /// </summary>
    bool AddBosToken => BosTokenId >= 0;

    /// <summary>Whether the model's own encoding appends EOS (<c>add_eos_token</c>); chat prompts never want it.</summary>
    bool AddEosToken => false;

    /// <summary>
    /// Every id that ends a generated turn: EOS, and the end-of-turn / end-of-message tokens the model declares
    /// (<c>&lt;|eot_id|&gt;</c>, <c>&lt;|eom_id|&gt;</c>, <c>&lt;|im_end|&gt;</c>, <c>&lt;end_of_turn&gt;</c>, generation_config.json
    /// <c>eos_token_id</c> lists, GGUF <c>eot</c>/<c>eom</c> ids). Sorted, without duplicates.
    /// </summary>
    IReadOnlyList<int> EndOfTurnTokenIds => EosTokenId >= 0 ? [EosTokenId] : [];

    /// <summary>The default chat template shipped with the tokenizer (tokenizer_config.json or GGUF), or null.</summary>
    string? ChatTemplate => null;

    /// <summary>Named chat templates (tokenizer_config.json's list form, e.g. <c>"tool_use"</c>); empty when there are none.</summary>
    IReadOnlyDictionary<string, string> NamedChatTemplates => EmptyTemplates.Instance;

    /// <summary>
    /// Encodes a rendered prompt: text that spells a special or added token (<c>&lt;|eot_id|&gt;</c>, <c>&lt;think&gt;</c>)
    /// becomes that token's id. <see cref="Encode"/> treats such text as plain characters, which is what user text needs.
    /// Tokenizers without added tokens encode as <see cref="Encode"/> does.
    /// </summary>
    IReadOnlyList<int> EncodeWithSpecialTokens(string text, bool addBos) => Encode(text, addBos);
}

/// <summary>The shared empty template map.</summary>
file static class EmptyTemplates
{
    public static readonly IReadOnlyDictionary<string, string> Instance = new Dictionary<string, string>();
}
