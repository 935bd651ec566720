using System.Text;

namespace QuickSilver.Engine.Tokenization;

/// <summary>
/// A SentencePiece-BPE tokenizer built from the GGUF metadata arrays of a <c>tokenizer.ggml.model = "llama"</c> file
/// (<c>tokenizer.ggml.tokens</c>, <c>scores</c>, <c>token_type</c> and the BOS/EOS/unknown ids). Pieces spell space as
/// U+2581 (▁); encoding and decoding follow <see cref="ScoredBpeTokenizer"/> with that character read as a space.
/// </summary>
/// <remarks>
/// Re-implements <see cref="ITokenizer"/> so that the flags, stop ids and templates below are what callers of the
/// interface see (the base class leaves them to the interface defaults).
/// Control and unknown tokens are never produced from text. Byte fallback uses the <see cref="GgufTokenType.Byte"/>
/// tokens <c>&lt;0xXX&gt;</c>; a byte with no such token falls back to the unknown token.
/// </remarks>
public sealed class GgufVocabTokenizer : ScoredBpeTokenizer, ITokenizer
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

    private GgufVocabTokenizer(Parts p, GgufSpmOptions? options = null)
        : base(p.Source, p.Pieces, p.PieceBytes, p.Scores, p.IsControl, p.ByteValue, p.InLookup, p.ByteFallbackIds, p.Bos, p.Eos)
    {
        UnknownTokenId = p.Unknown;
        options ??= GgufSpmOptions.Default;
        AddSpacePrefix = options.AddSpacePrefix;
        AddBosToken = options.AddBos && p.Bos >= 0;
        AddEosToken = options.AddEos && p.Eos >= 0;
        ChatTemplate = options.ChatTemplates.TryGetValue("default", out string? template) ? template : null;
        NamedChatTemplates = options.ChatTemplates;
        EndOfTurnTokenIds = EndOfTurnTokens.Collect(options.StopIds.Append(p.Eos), p.Pieces.Select((text, id) => (text, id)));
        _specials = new GgufSpecialTokenSplitter(options.SpecialTokens);
    }

    private readonly GgufSpecialTokenSplitter _specials;

    /// <summary>Whether a space is put in front of text at the start and after every special token (<c>tokenizer.ggml.add_space_prefix</c>, default true).</summary>
    public bool AddSpacePrefix { get; }

    /// <inheritdoc />
    public bool AddBosToken { get; }

    /// <inheritdoc />
    public bool AddEosToken { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> EndOfTurnTokenIds { get; }

    /// <inheritdoc />
    public string? ChatTemplate { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> NamedChatTemplates { get; }

    /// <inheritdoc />
    /// <remarks>User-defined tokens are cut out of the text first, as llama.cpp does; control-token text stays plain text.</remarks>
    public override IReadOnlyList<int> Encode(string text, bool addBos) => EncodeCore(text, addBos, parseSpecial: false);

    /// <inheritdoc />
    public override IReadOnlyList<int> EncodeWithSpecialTokens(string text, bool addBos) => EncodeCore(text, addBos, parseSpecial: true);

    /// <summary>llama.cpp's SPM <c>tokenize</c>: a space prefix on raw text at the start and after each special token.</summary>
    private List<int> EncodeCore(string text, bool addBos, bool parseSpecial)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        if (addBos && BosTokenId >= 0)
        {
            ids.Add(BosTokenId);
        }
        bool previousSpecial = true;
        foreach (var (fragment, id) in _specials.Split(text, parseSpecial))
        {
            if (id >= 0)
            {
                ids.Add(id);
                previousSpecial = true;
                continue;
            }
            EncodeFragment(fragment, AddSpacePrefix && previousSpecial, ids);
            previousSpecial = false;
        }
        return ids;
    }

    /// <summary>
    /// Builds the tokenizer of a GGUF file with <c>tokenizer.ggml.model = llama</c>, honouring
    /// <c>add_space_prefix</c>, <c>add_bos_token</c>/<c>add_eos_token</c>, the EOT/EOM/pad ids, user-defined and control
    /// tokens and the chat templates.
    /// </summary>
    /// <exception cref="TokenizerException">The vocabulary is missing or malformed; the message names the file and key.</exception>
    public static GgufVocabTokenizer FromGguf(Loading.GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return FromMetadata(file.Metadata, file.Path);
    }

    /// <summary>The unknown-token id, or -1.</summary>
    public int UnknownTokenId { get; }

    /// <summary>
    /// Builds the tokenizer from a GGUF metadata dictionary (key → value as a GGUF reader returns it: arrays as any
    /// <see cref="System.Collections.IEnumerable"/> of strings or numbers, ids as any integer type). Absent BOS/EOS/unknown
    /// ids default to llama.cpp's SentencePiece defaults 1/2/0; the value 0xFFFFFFFF (or any negative) means none.
    /// </summary>
    /// <param name="metadata">The metadata key/values.</param>
    /// <param name="source">The file named in error messages.</param>
    /// <exception cref="TokenizerException">A key is missing or has the wrong type, or the tokenizer is not SentencePiece-BPE.</exception>
    public static GgufVocabTokenizer FromMetadata(IReadOnlyDictionary<string, object> metadata, string source = "GGUF")
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(source);
        if (metadata.TryGetValue("tokenizer.ggml.model", out object? model) && model is not "llama")
        {
            throw new TokenizerException($"{source}: tokenizer.ggml.model = '{model}' is not supported here; GgufVocabTokenizer handles the SentencePiece-BPE model 'llama'.");
        }
        string[] tokens = Array<string>("tokenizer.ggml.tokens", required: true, static v => v as string)!;
        float[] scores = Array<float>("tokenizer.ggml.scores", required: true, static v => IsNumber(v) ? Convert.ToSingle(v, System.Globalization.CultureInfo.InvariantCulture) : null)!;
        int[]? types = Array<int>("tokenizer.ggml.token_type", required: false, static v => IsNumber(v) ? Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture) : null);
        if (types is not null && types.Length == tokens.Length)
        {
            types = [.. types.Select((t, id) => (int)Gguf.LlamaCppTokenTypes.Effective(tokens[id] ?? "", (GgufTokenType)t))];
        }
        var parts = Build(tokens, scores, types, Id("tokenizer.ggml.bos_token_id", 1), Id("tokenizer.ggml.eos_token_id", 2),
            Id("tokenizer.ggml.unknown_token_id", 0), source);
        var specials = new List<(string, int, bool)>();
        for (int id = 0; id < tokens.Length && types is not null; id++)
        {
            var type = (GgufTokenType)types[id];
            if (type is GgufTokenType.Control or GgufTokenType.Unknown or GgufTokenType.UserDefined && tokens[id].Length > 0)
            {
                specials.Add((tokens[id], id, type != GgufTokenType.UserDefined));
            }
        }
        var templates = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in metadata)
        {
            const string prefix = "tokenizer.chat_template";
            if (value is not string text || !key.StartsWith(prefix, StringComparison.Ordinal)) continue;
            if (key.Length == prefix.Length) templates["default"] = text;
            else if (key[prefix.Length] == '.') templates[key[(prefix.Length + 1)..]] = text;
        }
        var options = new GgufSpmOptions(
            AddSpacePrefix: Flag("tokenizer.ggml.add_space_prefix", true),
            AddBos: Flag("tokenizer.ggml.add_bos_token", parts.Bos >= 0),
            AddEos: Flag("tokenizer.ggml.add_eos_token", false),
            StopIds: [.. new[] { Id("tokenizer.ggml.eot_token_id", -1), Id("tokenizer.ggml.eom_token_id", -1) }.Where(i => i >= 0 && i < tokens.Length)],
            SpecialTokens: specials,
            ChatTemplates: templates);
        if (options.AddBos && parts.Bos < 0)
        {
            throw new TokenizerException($"{source}: tokenizer.ggml.add_bos_token is true, but tokenizer.ggml.bos_token_id is not set.");
        }
        return new GgufVocabTokenizer(parts, options);

        bool Flag(string key, bool fallback) => !metadata.TryGetValue(key, out object? value) ? fallback
            : value is bool b ? b
            : throw new TokenizerException($"{source}: metadata key {key} is {value?.GetType().Name ?? "null"}, not a bool.");

        static bool IsNumber(object v) => v is sbyte or byte or short or ushort or int or uint or long or ulong or float or double;

        T[]? Array<T>(string key, bool required, Func<object, object?> convert)
        {
            if (!metadata.TryGetValue(key, out object? value))
            {
                return required ? throw new TokenizerException($"{source}: metadata key {key} is missing.") : null;
            }
            if (value is T[] typed)
            {
                return typed;
            }
            if (value is not System.Collections.IEnumerable items || value is string)
            {
                throw new TokenizerException($"{source}: metadata key {key} is {value?.GetType().Name ?? "null"}, not an array.");
            }
            var list = new List<T>();
            foreach (object? item in items)
            {
                object? converted;
                try
                {
                    converted = item is null ? null : convert(item);
                }
                catch (OverflowException)
                {
                    converted = null;
                }
                list.Add(converted is T element
                    ? element
                    : throw new TokenizerException($"{source}: metadata key {key} holds {item ?? "null"} ({item?.GetType().Name ?? "null"}) at index {list.Count}, not a {typeof(T).Name}."));
            }
            return [.. list];
        }

        int Id(string key, int fallback)
        {
            if (!metadata.TryGetValue(key, out object? value))
            {
                return fallback;
            }
            long id = value switch
            {
                uint u => u,
                int i => i,
                ulong ul => ul > int.MaxValue ? -1 : (long)ul,
                long l => l,
                ushort us => us,
                short sh => sh,
                byte b => b,
                sbyte sb => sb,
                _ => throw new TokenizerException($"{source}: metadata key {key} is {value?.GetType().Name ?? "null"}, not an integer."),
            };
            return id is < 0 or > int.MaxValue ? -1 : (int)id;
        }
    }

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
