using QuickSilver.Engine.Tokenization.HuggingFace;

namespace QuickSilver.Engine.Tokenization;

/// <summary>
/// A tokenizer in the Hugging Face tokenizers pipeline: added tokens → normalizer → pre-tokenizer → BPE model →
/// decoder. Loaded from a <c>tokenizer.json</c> (with <c>tokenizer_config.json</c> and <c>generation_config.json</c>
/// beside it), or built from a GGUF <c>gpt2</c> vocabulary (see <see cref="TokenizerResolver.FromGguf"/>).
/// </summary>
/// <remarks>
/// <see cref="Encode"/> treats special-token text as plain text (tokenizers' <c>encode_special_tokens</c>: non-special
/// added tokens such as Qwen's <c>&lt;think&gt;</c> are still recognised); <see cref="EncodeWithSpecialTokens"/> turns it
/// into the token ids, for rendered prompts. Special tokens decode to nothing (<c>skip_special_tokens</c>).
/// Instances are immutable and thread-safe.
/// </remarks>
public sealed class HuggingFaceTokenizer : ITokenizer
{
    private readonly HfParts _parts;
    private readonly byte[][] _bytes;
    private readonly byte[][] _startBytes;

    internal HuggingFaceTokenizer(HfParts parts)
    {
        _parts = parts;
        int count = parts.Pieces.Length;
        _bytes = new byte[count][];
        _startBytes = new byte[count][];
        for (int id = 0; id < count; id++)
        {
            if (parts.IsSpecial[id] || parts.Pieces[id] is null)
            {
                _bytes[id] = _startBytes[id] = [];
                continue;
            }
            _bytes[id] = parts.Decoder.Decode(parts.Pieces[id]!, atTextStart: false);
            byte[] start = parts.Decoder.Decode(parts.Pieces[id]!, atTextStart: true);
            _startBytes[id] = start.AsSpan().SequenceEqual(_bytes[id]) ? _bytes[id] : start;
        }
        EndOfTurnTokenIds = EndOfTurnTokens.Collect(parts.DeclaredStopIds.Append(parts.EosTokenId),
            parts.Added.Tokens.Where(t => t.Special || parts.ControlIds.Contains(t.Id)).Select(t => (t.Content, t.Id)));
    }

    /// <summary>The file or folder the tokenizer came from.</summary>
    public string Source => _parts.Source;

    /// <inheritdoc />
    public int VocabSize => _parts.Pieces.Length;

    /// <inheritdoc />
    public int BosTokenId => _parts.BosTokenId;

    /// <inheritdoc />
    public int EosTokenId => _parts.EosTokenId;

    /// <inheritdoc />
    public bool AddBosToken => _parts.AddBos && _parts.BosTokenId >= 0;

    /// <inheritdoc />
    public bool AddEosToken => _parts.AddEos && _parts.EosTokenId >= 0;

    /// <inheritdoc />
    public IReadOnlyList<int> EndOfTurnTokenIds { get; }

    /// <summary>The padding id, or -1.</summary>
    public int PadTokenId => _parts.PadTokenId;

    /// <inheritdoc />
    public string? ChatTemplate => _parts.ChatTemplates.TryGetValue("default", out string? template) ? template : null;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> NamedChatTemplates => _parts.ChatTemplates;

    /// <summary>
    /// Loads <c>tokenizer.json</c>, or the one in a Hugging Face folder, with the folder's <c>tokenizer_config.json</c>,
    /// <c>chat_template.jinja</c> and <c>generation_config.json</c>.
    /// </summary>
    /// <exception cref="TokenizerException">The file is missing or malformed, or uses a model, normalizer, pre-tokenizer,
    /// decoder or post-processor this library does not implement (named in the message).</exception>
    public static HuggingFaceTokenizer Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string file = Directory.Exists(path) ? Path.Combine(path, "tokenizer.json") : path;
        return new HuggingFaceTokenizer(HfTokenizerJson.Read(file));
    }

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text, bool addBos) => EncodeCore(text, addBos, parseSpecial: false);

    /// <inheritdoc />
    public IReadOnlyList<int> EncodeWithSpecialTokens(string text, bool addBos) => EncodeCore(text, addBos, parseSpecial: true);

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids) => TokenDecoding.Decode(this, ids);

    /// <inheritdoc />
    public byte[] TokenBytes(int id) => (byte[])_bytes[CheckId(id)].Clone();

    /// <inheritdoc />
    public byte[] TokenBytesAtTextStart(int id) => (byte[])_startBytes[CheckId(id)].Clone();

    /// <inheritdoc />
    public string TokenPiece(int id) => _parts.Pieces[CheckId(id)] ?? string.Empty;

    /// <inheritdoc />
    public bool IsControl(int id) => _parts.IsSpecial[CheckId(id)];

    private IReadOnlyList<int> EncodeCore(string text, bool addBos, bool parseSpecial)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = TokenDecoding.ReplaceUnpairedSurrogates(text);
        var ids = new List<int>();
        if (addBos && _parts.BosTokenId >= 0)
        {
            ids.Add(_parts.BosTokenId);
        }
        var raw = new List<(TextPiece Piece, int Id)>();
        _parts.Added.Split(new TextPiece(text, AtStart: true), normalizedPass: false, parseSpecial, raw);
        var normalized = new List<(TextPiece Piece, int Id)>();
        foreach (var (piece, id) in raw)
        {
            if (id >= 0)
            {
                ids.Add(id);
                continue;
            }
            string normalizedText = _parts.Normalizer?.Normalize(piece.Text) ?? piece.Text;
            normalized.Clear();
            _parts.Added.Split(piece with { Text = normalizedText }, normalizedPass: true, parseSpecial, normalized);
            foreach (var (inner, innerId) in normalized)
            {
                if (innerId >= 0)
                {
                    ids.Add(innerId);
                    continue;
                }
                var words = _parts.PreTokenizer is null ? [inner] : _parts.PreTokenizer.PreTokenize([inner]);
                foreach (var word in words)
                {
                    _parts.Model.Encode(word.Text, ids);
                }
            }
        }
        return ids;
    }

    private int CheckId(int id) =>
        (uint)id < (uint)_parts.Pieces.Length ? id : throw TokenDecoding.OutOfRange(id, _parts.Pieces.Length, _parts.Source);
}
