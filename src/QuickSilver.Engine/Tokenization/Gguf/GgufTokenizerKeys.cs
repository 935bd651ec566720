using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Tokenization.Gguf;

/// <summary>
/// The <c>tokenizer.ggml.*</c> values every GGUF vocabulary shares, read with llama.cpp's rules: special ids outside the
/// vocabulary (or 0xFFFFFFFF) mean none, flags absent from the file keep the model type's default.
/// </summary>
internal sealed class GgufTokenizerKeys
{
    private readonly GgufFile _file;

    public GgufTokenizerKeys(GgufFile file)
    {
        _file = file;
        Source = file.Path;
        Tokens = file.TryGetArray("tokenizer.ggml.tokens", out string[]? tokens)
            ? tokens
            : throw new TokenizerException($"{Source}: tokenizer.ggml.tokens is missing.");
        if (Tokens.Length == 0)
        {
            throw new TokenizerException($"{Source}: tokenizer.ggml.tokens is empty.");
        }
        if (file.TryGetArray("tokenizer.ggml.token_type", out int[]? types))
        {
            if (types.Length < Tokens.Length)
            {
                throw new TokenizerException($"{Source}: tokenizer.ggml.token_type has {types.Length} entries for {Tokens.Length} tokens.");
            }
            TokenTypes = types;
        }
    }

    /// <summary>The file, for messages.</summary>
    public string Source { get; }

    /// <summary><c>tokenizer.ggml.tokens</c>.</summary>
    public string[] Tokens { get; }

    /// <summary><c>tokenizer.ggml.token_type</c>, or null.</summary>
    public int[]? TokenTypes { get; }

    /// <summary>The token type of <paramref name="id"/> (Normal when the file has no types).</summary>
    public GgufTokenType TypeOf(int id) => TokenTypes is null ? GgufTokenType.Normal : (GgufTokenType)TokenTypes[id];

    /// <summary>An optional string key.</summary>
    public string? String(string key) => _file.TryGetString(key, out string? value) ? value : null;

    /// <summary>An optional boolean key.</summary>
    public bool? Bool(string key) => _file.TryGetBool(key, out bool value) ? value : null;

    /// <summary>A special-token id: <paramref name="fallback"/> when absent, -1 when outside the vocabulary (as llama.cpp disables it).</summary>
    public int Id(string key, int fallback)
    {
        if (!_file.TryGetUInt32(key, out uint value))
        {
            return fallback >= 0 && fallback < Tokens.Length ? fallback : -1;
        }
        return value < (uint)Tokens.Length ? (int)value : (fallback >= 0 && fallback < Tokens.Length ? fallback : -1);
    }

    /// <summary><c>tokenizer.chat_template</c> as "default", and every <c>tokenizer.chat_template.NAME</c> under its name.</summary>
    public Dictionary<string, string> ChatTemplates()
    {
        var templates = new Dictionary<string, string>(StringComparer.Ordinal);
        const string prefix = "tokenizer.chat_template";
        foreach (var (key, value) in _file.Metadata)
        {
            if (value is not string text || !key.StartsWith(prefix, StringComparison.Ordinal)) continue;
            if (key.Length == prefix.Length) templates["default"] = text;
            else if (key[prefix.Length] == '.') templates[key[(prefix.Length + 1)..]] = text;
        }
        return templates;
    }
}
