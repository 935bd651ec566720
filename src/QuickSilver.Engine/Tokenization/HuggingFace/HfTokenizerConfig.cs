using System.Text.Json;

namespace QuickSilver.Engine.Tokenization.HuggingFace;

/// <summary>
/// What a Hugging Face folder says about special tokens and prompting beside tokenizer.json: <c>tokenizer_config.json</c>
/// (<c>bos_token</c>, <c>eos_token</c>, <c>add_bos_token</c>, <c>add_eos_token</c>, <c>chat_template</c> as a string
/// or as a list of named templates), <c>chat_template.jinja</c>, and <c>generation_config.json</c> (<c>eos_token_id</c>,
/// one id or a list).
/// </summary>
internal sealed class HfTokenizerConfig
{
    /// <summary>The BOS token text, or null.</summary>
    public string? BosToken { get; private init; }

    /// <summary>The EOS token text, or null.</summary>
    public string? EosToken { get; private init; }

    /// <summary>The pad token text, or null.</summary>
    public string? PadToken { get; private init; }

    /// <summary>
    /// Tokens transformers adds on top of tokenizer.json when it loads the folder: the entries of
    /// <c>added_tokens_decoder</c> (id → token with its flags) and the special tokens the config names (<c>bos_token</c>,
    /// <c>eos_token</c>, <c>unk_token</c>, <c>pad_token</c>, <c>additional_special_tokens</c>), the latter with id -1 (resolved
    /// against the vocabulary by the caller).
    /// </summary>
    public IReadOnlyList<AddedToken> ExtraTokens { get; private init; } = [];

    /// <summary><c>add_bos_token</c>, or null when not given.</summary>
    public bool? AddBosToken { get; private init; }

    /// <summary><c>add_eos_token</c>, or null when not given.</summary>
    public bool? AddEosToken { get; private init; }

    /// <summary>The default chat template, or null.</summary>
    public string? ChatTemplate { get; private init; }

    /// <summary>Every named chat template (a single template is named <c>default</c>).</summary>
    public IReadOnlyDictionary<string, string> ChatTemplates { get; private init; } = new Dictionary<string, string>();

    /// <summary>The <c>eos_token_id</c> values of generation_config.json.</summary>
    public IReadOnlyList<int> GenerationEosIds { get; private init; } = [];

    /// <summary>Reads the files in <paramref name="folder"/>; missing files give an empty config.</summary>
    /// <exception cref="TokenizerException">A file exists but is not valid JSON of the expected shape.</exception>
    public static HfTokenizerConfig Read(string folder)
    {
        string configPath = Path.Combine(folder, "tokenizer_config.json");
        string generationPath = Path.Combine(folder, "generation_config.json");
        string jinjaPath = Path.Combine(folder, "chat_template.jinja");
        var templates = new Dictionary<string, string>(StringComparer.Ordinal);
        string? bos = null, eos = null, pad = null;
        bool? addBos = null, addEos = null;
        var extra = new List<AddedToken>();
        if (File.Exists(configPath))
        {
            using var document = ParseFile(configPath);
            var root = document.RootElement;
            bos = TokenText(root, "bos_token", configPath);
            eos = TokenText(root, "eos_token", configPath);
            pad = TokenText(root, "pad_token", configPath);
            addBos = OptionalBool(root, "add_bos_token", configPath);
            addEos = OptionalBool(root, "add_eos_token", configPath);
            ReadTemplates(root, configPath, templates);
            ReadExtraTokens(root, configPath, extra);
        }
        if (File.Exists(jinjaPath))
        {
            templates["default"] = File.ReadAllText(jinjaPath);
        }
        var eosIds = new List<int>();
        if (File.Exists(generationPath))
        {
            using var document = ParseFile(generationPath);
            if (document.RootElement.TryGetProperty("eos_token_id", out var value))
            {
                ReadIds(value, generationPath, eosIds);
            }
        }
        return new HfTokenizerConfig
        {
            BosToken = bos,
            EosToken = eos,
            PadToken = pad,
            ExtraTokens = extra,
            AddBosToken = addBos,
            AddEosToken = addEos,
            ChatTemplates = templates,
            ChatTemplate = templates.TryGetValue("default", out string? main) ? main : null,
            GenerationEosIds = eosIds,
        };
    }

    private static JsonDocument ParseFile(string path)
    {
        try
        {
            var document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true });
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? document
                : throw new TokenizerException($"{path}: expected a JSON object.");
        }
        catch (JsonException ex)
        {
            throw new TokenizerException($"{path}: invalid JSON: {ex.Message}", ex);
        }
    }

    // A token is a string or an AddedToken object {"content": …}.
    private static string? TokenText(JsonElement root, string field, string path)
    {
        if (!root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object when value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String => content.GetString(),
            _ => throw new TokenizerException($"{path}: '{field}' must be a string or an object with 'content', not {HfJson.Clip(value.GetRawText())}."),
        };
    }

    private static void ReadExtraTokens(JsonElement root, string path, List<AddedToken> extra)
    {
        if (root.TryGetProperty("added_tokens_decoder", out var decoder) && decoder.ValueKind == JsonValueKind.Object)
        {
            foreach (var entry in decoder.EnumerateObject())
            {
                var token = entry.Value;
                if (!int.TryParse(entry.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id)
                    || HfJson.OptionalString(token, "content") is not { Length: > 0 } content)
                {
                    throw new TokenizerException($"{path}: added_tokens_decoder entry '{entry.Name}' needs an integer key and a non-empty 'content'.");
                }
                bool special = HfJson.Bool(token, "special", false);
                extra.Add(new AddedToken(id, content, special, HfJson.Bool(token, "lstrip", false), HfJson.Bool(token, "rstrip", false),
                    HfJson.Bool(token, "normalized", !special), HfJson.Bool(token, "single_word", false)));
            }
        }
        foreach (string field in new[] { "bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token" })
        {
            if (TokenText(root, field, path) is { Length: > 0 } text)
            {
                extra.Add(new AddedToken(-1, text, Special: true));
            }
        }
        if (root.TryGetProperty("additional_special_tokens", out var additional) && additional.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in additional.EnumerateArray())
            {
                string? text = item.ValueKind == JsonValueKind.String ? item.GetString() : HfJson.OptionalString(item, "content");
                if (string.IsNullOrEmpty(text))
                {
                    throw new TokenizerException($"{path}: additional_special_tokens holds {HfJson.Clip(item.GetRawText())}, not a token.");
                }
                extra.Add(new AddedToken(-1, text, Special: true));
            }
        }
    }

    private static bool? OptionalBool(JsonElement root, string field, string path)
    {
        if (!root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.GetBoolean()
            : throw new TokenizerException($"{path}: '{field}' must be true or false, not {value.GetRawText()}.");
    }

    private static void ReadTemplates(JsonElement root, string path, Dictionary<string, string> templates)
    {
        if (!root.TryGetProperty("chat_template", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return;
        }
        if (value.ValueKind == JsonValueKind.String)
        {
            templates["default"] = value.GetString()!;
            return;
        }
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new TokenizerException($"{path}: 'chat_template' must be a string or a list of {{\"name\", \"template\"}}.");
        }
        foreach (var item in value.EnumerateArray())
        {
            string? name = HfJson.OptionalString(item, "name");
            string? template = HfJson.OptionalString(item, "template");
            if (name is null || template is null)
            {
                throw new TokenizerException($"{path}: every entry of 'chat_template' needs string fields 'name' and 'template': {HfJson.Clip(item.GetRawText())}.");
            }
            templates[name] = template;
        }
    }

    private static void ReadIds(JsonElement value, string path, List<int> ids)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                return;
            case JsonValueKind.Number when value.TryGetInt32(out int id) && id >= 0:
                ids.Add(id);
                return;
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                {
                    ReadIds(item, path, ids);
                }
                return;
            default:
                throw new TokenizerException($"{path}: 'eos_token_id' must be a token id or a list of ids, not {HfJson.Clip(value.GetRawText())}.");
        }
    }
}
