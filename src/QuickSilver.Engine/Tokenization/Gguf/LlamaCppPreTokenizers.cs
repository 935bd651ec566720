namespace QuickSilver.Engine.Tokenization.Gguf;

/// <summary>
/// The table of <c>tokenizer.ggml.pre</c> values llama.cpp knows for <c>tokenizer.ggml.model = gpt2</c>, with the regexes
/// of <c>llm_tokenizer_bpe</c> and the flags of <c>llama_vocab::impl::load</c> (llama.cpp master, 2026). Names
/// llama.cpp tokenizes with custom code instead of regexes (<c>kimi-k2</c>, <c>afmoe</c>, <c>superbpe</c>), with raw
/// UTF-8 instead of the byte alphabet (<c>gemma4</c>, <c>sarvam-moe</c>, <c>whitespace</c>) or with patterns .NET
/// cannot express (<c>chameleon</c>, <c>viking</c>) are rejected, as is any name llama.cpp does not know
/// (there is no <c>mistral</c>: Mistral 7B files are SentencePiece <c>llama</c> vocabularies, Mistral Nemo is <c>tekken</c>).
/// </summary>
public static class LlamaCppPreTokenizers
{
    // The contraction alternatives as llama.cpp spells (?i:'s|'t|'re|'ve|'m|'ll|'d) for its regex engine.
    private const string Contractions = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
    private const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
    private const string Llama3 = Contractions + @"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Qwen2 = Contractions + @"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string DeepSeek3 = @"[!""#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Upper = @"((?=[\p{L}])([^a-z]))";
    private const string Lower = @"((?=[\p{L}])([^A-Z]))";

    /// <summary>Every supported pre-tokenizer.</summary>
    public static IReadOnlyList<LlamaCppPreTokenizer> All { get; } =
    [
        new(["default"], [@"[\p{P}\$\+<=>\^~\|]+", Gpt2, @"\p{N}+", "[0-9][0-9][0-9]"]),
        new(["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"], [Llama3], IgnoreMerges: true, AddBos: true),
        new(["dbrx", "smaug-bpe"], [Llama3]),
        new(["chatglm-bpe", "glm4"], [Llama3], NoBos: true),
        new(["jais-2"], [Contractions + @"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1}"]),
        // The source's letter class also lists supplementary ranges (Deseret, Osage, Old Hungarian, Warang Citi, Adlam),
        // which .NET classes cannot hold; their cased letters still match through UnicodeRegex's stand-ins (À, µ).
        new(["deepseek-llm"], ["[\r\n]",
            "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A]+",
            @"\s?[!-/:-~！-／：-～‘-‟　-。]+", @"\s+$", "[一-龥ࠀ-一가-퟿]+", @"\p{N}+"]),
        new(["deepseek-coder"], ["[\r\n]", @"\s?\p{L}+", @"\s?\p{P}+", "[一-龥ࠀ-一가-퟿]+", @"\p{N}"]),
        new(["deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4"], [@"\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+", DeepSeek3]),
        new(["spark2_5"], [@"\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
            @"[!""#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+|[\r\n]|\s+(?!\S)|\s+", @"\p{N}"]),
        new(["falcon"], [@"[\p{P}\$\+<=>\^~\|`]+", Gpt2, "[0-9][0-9][0-9]"]),
        new(["starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2"], [@"\p{N}", Gpt2]),
        new(["gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert",
            "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4"], [Gpt2]),
        new(["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan", "solar-open"], [Qwen2]),
        new(["qwen35"], [Contractions + @"|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"]),
        new(["poro-chat", "bloom", "gpt3-finnish"], [@" ?[^(\s|.,!?…。，、।۔،)]+"]),
        new(["tekken"], [$@"[^\r\n\p{{L}}\p{{N}}]?{Upper}*{Lower}+|[^\r\n\p{{L}}\p{{N}}]?{Upper}+{Lower}*|\p{{N}}| ?[^\s\p{{L}}\p{{N}}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"],
            IgnoreMerges: true, AddBos: true),
        new(["gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"],
            [$@"[^\r\n\p{{L}}\p{{N}}]?{Upper}*{Lower}+{Contractions}?|[^\r\n\p{{L}}\p{{N}}]?{Upper}+{Lower}*{Contractions}?|\p{{N}}{{1,3}}| ?[^\s\p{{L}}\p{{N}}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"]),
        new(["seed-coder"], [Contractions + @"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+"]),
        new(["grok-2"], [Qwen2]),
        new(["bailingmoe", "bailingmoe2", "llada-moe"], [@"'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"]),
        new(["ufakzeka"], [@"[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"]),
        new(["laguna"], [@"[^\n]+|[\n]+", Qwen2]),
    ];

    private static readonly Dictionary<string, LlamaCppPreTokenizer> ByName =
        All.SelectMany(p => p.Names.Select(n => (n, p))).ToDictionary(x => x.n, x => x.p, StringComparer.Ordinal);

    /// <summary>Every supported <c>tokenizer.ggml.pre</c> value.</summary>
    public static IEnumerable<string> Names => ByName.Keys;

    /// <summary>
    /// The pre-tokenizer named <paramref name="pre"/>; an absent or empty value is llama.cpp's <c>default</c> (which it
    /// uses with a warning that quality will be degraded).
    /// </summary>
    /// <exception cref="TokenizerException">llama.cpp does not know the name, or this library does not support it; the message names it and <paramref name="source"/>.</exception>
    public static LlamaCppPreTokenizer Get(string? pre, string source)
    {
        if (string.IsNullOrEmpty(pre))
        {
            return ByName["default"];
        }
        if (ByName.TryGetValue(pre, out var known))
        {
            return known;
        }
        string why = pre switch
        {
            "kimi-k2" or "afmoe" or "superbpe" or "tiny_aya" or "cohere2moe" or "youtu" or "exaone-moe" or "granite-embed-multi-97m"
                => "llama.cpp splits it with custom code or constructs this library does not reproduce",
            "gemma4" or "granite-embed-multi-311m" or "sarvam-moe" or "whitespace" => "it is not a byte-level vocabulary",
            "chameleon" or "viking" or "jina-v1-en" or "jina-v2-code" or "roberta-bpe" => "it is not supported by this library",
            _ => "llama.cpp does not know it either",
        };
        throw new TokenizerException($"{source}: tokenizer.ggml.pre = '{pre}' is not supported ({why}). Supported: {string.Join(", ", ByName.Keys.Order(StringComparer.Ordinal))}.");
    }
}
