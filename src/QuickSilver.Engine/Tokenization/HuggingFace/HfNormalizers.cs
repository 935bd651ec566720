using System.Text;
using System.Text.Json;

namespace QuickSilver.Engine.Tokenization.HuggingFace;

/// <summary>A tokenizer.json normalizer: rewrites one piece of text before pre-tokenization.</summary>
internal interface IHfNormalizer
{
    /// <summary>The normalized text.</summary>
    string Normalize(string text);
}

/// <summary>The tokenizer.json <c>normalizer</c> types this library implements, and their parser.</summary>
internal static class HfNormalizers
{
    /// <summary>The supported <c>type</c> values.</summary>
    public static readonly string[] Supported = ["NFC", "NFD", "NFKC", "NFKD", "Prepend", "Replace", "Lowercase", "Strip", "Sequence"];

    /// <summary>Builds the normalizer of a JSON node, or null for JSON null.</summary>
    /// <exception cref="TokenizerException">An unsupported type or a malformed field, named with <paramref name="source"/>.</exception>
    public static IHfNormalizer? Parse(JsonElement node, string source)
    {
        if (node.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        string type = HfJson.Type(node, "normalizer", source);
        return type switch
        {
            "NFC" => new FormNormalizer(NormalizationForm.FormC),
            "NFD" => new FormNormalizer(NormalizationForm.FormD),
            "NFKC" => new FormNormalizer(NormalizationForm.FormKC),
            "NFKD" => new FormNormalizer(NormalizationForm.FormKD),
            "Prepend" => new PrependNormalizer(HfJson.String(node, "prepend", "normalizer Prepend", source)),
            "Replace" => new ReplaceNormalizer(HfPattern.Parse(node, "normalizer Replace", source), HfJson.String(node, "content", "normalizer Replace", source)),
            "Lowercase" => new LowercaseNormalizer(),
            "Strip" => new StripNormalizer(HfJson.Bool(node, "strip_left", false), HfJson.Bool(node, "strip_right", true)),
            "Sequence" => new SequenceNormalizer(HfJson.Array(node, "normalizers", "normalizer Sequence", source)
                .Select(n => Parse(n, source)).OfType<IHfNormalizer>().ToArray()),
            _ => throw new TokenizerException(
                $"{source}: normalizer type '{type}' is not supported (supported: {string.Join(", ", Supported)}); the tokenizer cannot be reproduced exactly."),
        };
    }

    private sealed class FormNormalizer(NormalizationForm form) : IHfNormalizer
    {
        public string Normalize(string text) => text.IsNormalized(form) ? text : text.Normalize(form);
    }

    /// <summary>HF prepends only to non-empty text.</summary>
    private sealed class PrependNormalizer(string prefix) : IHfNormalizer
    {
        public string Normalize(string text) => text.Length == 0 ? text : prefix + text;
    }

    private sealed class ReplaceNormalizer(HfPattern pattern, string content) : IHfNormalizer
    {
        public string Normalize(string text) => pattern.Replace(text, content);
    }

    private sealed class LowercaseNormalizer : IHfNormalizer
    {
        public string Normalize(string text) => text.ToLowerInvariant();
    }

    /// <summary>Strips Unicode whitespace (Rust <c>char::is_whitespace</c>) from either end.</summary>
    private sealed class StripNormalizer(bool left, bool right) : IHfNormalizer
    {
        public string Normalize(string text) => (left, right) switch
        {
            (true, true) => text.Trim(),
            (true, false) => text.TrimStart(),
            (false, true) => text.TrimEnd(),
            _ => text,
        };
    }

    private sealed class SequenceNormalizer(IHfNormalizer[] steps) : IHfNormalizer
    {
        public string Normalize(string text)
        {
            foreach (var step in steps)
            {
                text = step.Normalize(text);
            }
            return text;
        }
    }
}
