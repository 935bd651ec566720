using System.Text.Json;

namespace QuickSilver.Engine.Tokenization.HuggingFace;

/// <summary>Reads a tokenizer.json file (Hugging Face tokenizers format) and the config files beside it into <see cref="HfParts"/>.</summary>
internal static class HfTokenizerJson
{
    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <exception cref="TokenizerException">Missing, malformed or unsupported, with the file and field named.</exception>
    public static HfParts Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new TokenizerException($"Tokenizer file not found: '{path}'.");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException ex)
        {
            throw new TokenizerException($"{path}: invalid JSON: {ex.Message}", ex);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var modelNode) || modelNode.ValueKind != JsonValueKind.Object)
            {
                throw new TokenizerException($"{path}: not a tokenizer.json file (no 'model' object).");
            }
            var config = HfTokenizerConfig.Read(Path.GetDirectoryName(Path.GetFullPath(path))!);
            var normalizer = HfNormalizers.Parse(Field(root, "normalizer"), path);
            var preTokenizer = HfPreTokenizers.Parse(Field(root, "pre_tokenizer"), path);
            var decoder = HfDecoder.Parse(Field(root, "decoder"), path);
            var (vocab, merges) = ReadBpe(modelNode, path);
            var model = new HfBpeModel(vocab, merges, HfJson.OptionalString(modelNode, "unk_token"), HfJson.Bool(modelNode, "byte_fallback", false),
                HfJson.Bool(modelNode, "fuse_unk", false), HfJson.Bool(modelNode, "ignore_merges", false), path);
            var added = ReadAddedTokens(root, path);
            MergeConfigTokens(added, config.ExtraTokens, vocab, path);

            int size = Math.Max(vocab.Count == 0 ? 0 : vocab.Values.Max() + 1, added.Count == 0 ? 0 : added.Max(t => t.Id) + 1);
            var pieces = new string?[size];
            var special = new bool[size];
            foreach (var (text, id) in vocab)
            {
                pieces[id] = text;
            }
            var byContent = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var token in added)
            {
                pieces[token.Id] = token.Content;
                special[token.Id] = token.Special;
                byContent[token.Content] = token.Id;
            }
            int IdOf(string? text) => text is null ? -1 : byContent.TryGetValue(text, out int a) ? a : vocab.TryGetValue(text, out int v) ? v : -1;

            var post = HfPostProcessor.Parse(Field(root, "post_processor"), t => IdOf(t), path);
            int bos = post.Prefix.Count > 0 ? post.Prefix[^1] : IdOf(config.BosToken);
            int eos = IdOf(config.EosToken);
            if (eos < 0 && post.Suffix.Count > 0)
            {
                eos = post.Suffix[^1];
            }
            if (eos < 0 && config.GenerationEosIds.Count > 0)
            {
                eos = config.GenerationEosIds[0];
            }
            foreach (int id in config.GenerationEosIds)
            {
                if (id >= size)
                {
                    throw new TokenizerException($"{path}: generation_config.json eos_token_id {id} is outside the vocabulary of {size} tokens.");
                }
            }
            return new HfParts
            {
                Source = path,
                Pieces = pieces,
                IsSpecial = special,
                Added = new HfAddedVocabulary(added, normalizer),
                Normalizer = normalizer,
                PreTokenizer = preTokenizer,
                Model = model,
                Decoder = decoder,
                BosTokenId = bos,
                EosTokenId = eos,
                PadTokenId = IdOf(config.PadToken),
                AddBos = config.AddBosToken ?? post.Prefix.Count > 0,
                AddEos = config.AddEosToken ?? post.Suffix.Count > 0,
                DeclaredStopIds = config.GenerationEosIds,
                ChatTemplates = config.ChatTemplates,
            };
        }
    }

    private static JsonElement Field(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) ? value : NullElement;

    private static readonly JsonElement NullElement = JsonDocument.Parse("null").RootElement;

    private static (Dictionary<string, int> Vocab, List<(string, string)> Merges) ReadBpe(JsonElement model, string path)
    {
        string type = HfJson.OptionalString(model, "type") ?? (model.TryGetProperty("merges", out _) ? "BPE" : "?");
        if (type != "BPE")
        {
            throw new TokenizerException($"{path}: model type '{type}' is not supported (supported: BPE); WordPiece, WordLevel and Unigram models cannot be encoded here.");
        }
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
        {
            throw new TokenizerException($"{path}: model.dropout = {dropout.GetRawText()} makes BPE random; not supported.");
        }
        foreach (string field in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
        {
            if (HfJson.OptionalString(model, field) is { Length: > 0 } affix)
            {
                throw new TokenizerException($"{path}: model.{field} = '{affix}' is not supported (subword affixes are not used by causal LM tokenizers).");
            }
        }
        if (!model.TryGetProperty("vocab", out var vocabNode) || vocabNode.ValueKind != JsonValueKind.Object)
        {
            throw new TokenizerException($"{path}: model.vocab must be an object of token → id.");
        }
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocabNode.EnumerateObject())
        {
            if (!entry.Value.TryGetInt32(out int id) || id < 0)
            {
                throw new TokenizerException($"{path}: model.vocab['{entry.Name}'] = {entry.Value.GetRawText()} is not a token id.");
            }
            vocab[entry.Name] = id;
        }
        var merges = new List<(string, string)>();
        int index = 0;
        foreach (var merge in HfJson.Array(model, "merges", "model", path))
        {
            if (merge.ValueKind == JsonValueKind.String)
            {
                string[] parts = merge.GetString()!.Split(' ');
                merges.Add(parts.Length == 2 ? (parts[0], parts[1])
                    : throw new TokenizerException($"{path}: model.merges[{index}] '{merge.GetString()}' is not two tokens separated by one space."));
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
                && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
            {
                merges.Add((merge[0].GetString()!, merge[1].GetString()!));
            }
            else
            {
                throw new TokenizerException($"{path}: model.merges[{index}] must be \"a b\" or [\"a\", \"b\"], not {HfJson.Clip(merge.GetRawText())}.");
            }
            index++;
        }
        return (vocab, merges);
    }

    /// <summary>
    /// Adds what transformers adds when it loads the folder: <c>added_tokens_decoder</c> entries whose id tokenizer.json
    /// does not list, and config-named special tokens that are in the vocabulary but not yet added tokens.
    /// </summary>
    private static void MergeConfigTokens(List<AddedToken> added, IReadOnlyList<AddedToken> extra, Dictionary<string, int> vocab, string path)
    {
        var ids = added.Select(t => t.Id).ToHashSet();
        var contents = added.Select(t => t.Content).ToHashSet(StringComparer.Ordinal);
        foreach (var token in extra)
        {
            if (contents.Contains(token.Content))
            {
                continue;
            }
            int id = token.Id;
            if (id < 0 && !vocab.TryGetValue(token.Content, out id))
            {
                continue; // transformers would append a new id; a model has no embedding for it, so it cannot occur in prompts
            }
            if (!ids.Add(id))
            {
                continue;
            }
            if (vocab.TryGetValue(token.Content, out int vocabId) && vocabId != id)
            {
                throw new TokenizerException($"{path}: tokenizer_config.json gives '{token.Content}' id {id}, but tokenizer.json's vocabulary has it at {vocabId}.");
            }
            contents.Add(token.Content);
            added.Add(token with { Id = id });
        }
    }

    private static List<AddedToken> ReadAddedTokens(JsonElement root, string path)
    {
        var tokens = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens", out var list) || list.ValueKind == JsonValueKind.Null)
        {
            return tokens;
        }
        if (list.ValueKind != JsonValueKind.Array)
        {
            throw new TokenizerException($"{path}: added_tokens must be an array.");
        }
        foreach (var item in list.EnumerateArray())
        {
            int id = HfJson.Int(item, "id", -1);
            string? content = HfJson.OptionalString(item, "content");
            if (id < 0 || string.IsNullOrEmpty(content))
            {
                throw new TokenizerException($"{path}: added token {HfJson.Clip(item.GetRawText())} needs an 'id' and a non-empty 'content'.");
            }
            bool special = HfJson.Bool(item, "special", false);
            tokens.Add(new AddedToken(id, content, special, HfJson.Bool(item, "lstrip", false), HfJson.Bool(item, "rstrip", false),
                HfJson.Bool(item, "normalized", !special), HfJson.Bool(item, "single_word", false)));
        }
        return tokens;
    }
}
