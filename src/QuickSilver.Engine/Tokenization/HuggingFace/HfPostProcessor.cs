using System.Text.Json;

namespace QuickSilver.Engine.Tokenization.HuggingFace;

/// <summary>
/// What a tokenizer.json <c>post_processor</c> adds around a single sequence: the special tokens before and after
/// <c>$A</c> in a <c>TemplateProcessing</c> <c>single</c> template (BOS, sometimes EOS). <c>ByteLevel</c> only trims
/// offsets and adds nothing; <c>Sequence</c> combines them. Encoder templates (<c>BertProcessing</c>,
/// <c>RobertaProcessing</c>) are rejected.
/// </summary>
internal sealed record HfPostProcessor(IReadOnlyList<int> Prefix, IReadOnlyList<int> Suffix)
{
    /// <summary>The supported <c>type</c> values.</summary>
    public static readonly string[] Supported = ["TemplateProcessing", "ByteLevel", "Sequence"];

    /// <summary>Adds nothing.</summary>
    public static HfPostProcessor None { get; } = new([], []);

    /// <summary>Parses the node; <paramref name="idOf"/> resolves token text to ids.</summary>
    /// <exception cref="TokenizerException">An unsupported type or template, named with <paramref name="source"/>.</exception>
    public static HfPostProcessor Parse(JsonElement node, Func<string, int> idOf, string source)
    {
        if (node.ValueKind == JsonValueKind.Null)
        {
            return None;
        }
        string type = HfJson.Type(node, "post_processor", source);
        switch (type)
        {
            case "ByteLevel":
                return None;
            case "Sequence":
            {
                var prefix = new List<int>();
                var suffix = new List<int>();
                foreach (var child in HfJson.Array(node, "processors", "post_processor Sequence", source))
                {
                    var parsed = Parse(child, idOf, source);
                    prefix.AddRange(parsed.Prefix);
                    suffix.AddRange(parsed.Suffix);
                }
                return new HfPostProcessor(prefix, suffix);
            }
            case "TemplateProcessing":
                return ParseTemplate(node, idOf, source);
            default:
                throw new TokenizerException(
                    $"{source}: post_processor type '{type}' is not supported (supported: {string.Join(", ", Supported)}).");
        }
    }

    private static HfPostProcessor ParseTemplate(JsonElement node, Func<string, int> idOf, string source)
    {
        var prefix = new List<int>();
        var suffix = new List<int>();
        bool seenSequence = false;
        foreach (var item in HfJson.Array(node, "single", "post_processor TemplateProcessing", source))
        {
            if (item.TryGetProperty("Sequence", out var sequence))
            {
                if (seenSequence || HfJson.OptionalString(sequence, "id") != "A")
                {
                    throw new TokenizerException($"{source}: post_processor TemplateProcessing 'single' must hold the sequence $A once: {HfJson.Clip(item.GetRawText())}.");
                }
                seenSequence = true;
                continue;
            }
            if (!item.TryGetProperty("SpecialToken", out var special) || HfJson.OptionalString(special, "id") is not { } name)
            {
                throw new TokenizerException($"{source}: post_processor TemplateProcessing item {HfJson.Clip(item.GetRawText())} is neither a Sequence nor a SpecialToken.");
            }
            var ids = SpecialIds(node, name, idOf, source);
            (seenSequence ? suffix : prefix).AddRange(ids);
        }
        return new HfPostProcessor(prefix, suffix);
    }

    // special_tokens maps a name to its ids; fall back to the vocabulary for files that omit it.
    private static IEnumerable<int> SpecialIds(JsonElement node, string name, Func<string, int> idOf, string source)
    {
        if (node.TryGetProperty("special_tokens", out var map) && map.ValueKind == JsonValueKind.Object
            && map.TryGetProperty(name, out var entry) && entry.TryGetProperty("ids", out var ids) && ids.ValueKind == JsonValueKind.Array)
        {
            return ids.EnumerateArray().Select(i => i.TryGetInt32(out int id) ? id
                : throw new TokenizerException($"{source}: post_processor special token '{name}' has a non-integer id {i.GetRawText()}.")).ToArray();
        }
        int found = idOf(name);
        return found >= 0 ? [found] : throw new TokenizerException($"{source}: post_processor special token '{name}' is not in the vocabulary.");
    }
}
