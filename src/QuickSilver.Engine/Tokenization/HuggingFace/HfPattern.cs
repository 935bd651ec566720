using System.Text.Json;

namespace QuickSilver.Engine.Tokenization.HuggingFace;

/// <summary>
/// A tokenizer.json <c>pattern</c>: <c>{"String": "…"}</c> (a literal) or <c>{"Regex": "…"}</c> (an Oniguruma regex,
/// matched over code points by <see cref="UnicodeRegex"/>).
/// </summary>
internal sealed class HfPattern
{
    private readonly string? _literal;
    private readonly UnicodeRegex? _regex;

    private HfPattern(string? literal, UnicodeRegex? regex)
    {
        _literal = literal;
        _regex = regex;
    }

    /// <summary>A literal pattern.</summary>
    public static HfPattern Literal(string text) => new(text, null);

    /// <summary>A regex pattern.</summary>
    public static HfPattern Regex(string pattern, string where) => new(null, new UnicodeRegex(pattern, where));

    /// <summary>The literal text, or null for a regex.</summary>
    public string? LiteralText => _literal;

    /// <summary>Reads the <c>pattern</c> field of <paramref name="node"/>.</summary>
    public static HfPattern Parse(JsonElement node, string what, string source)
    {
        if (!node.TryGetProperty("pattern", out JsonElement pattern) || pattern.ValueKind != JsonValueKind.Object)
        {
            throw new TokenizerException($"{source}: {what} has no 'pattern' object.");
        }
        if (pattern.TryGetProperty("String", out JsonElement literal) && literal.ValueKind == JsonValueKind.String)
        {
            return Literal(literal.GetString()!);
        }
        if (pattern.TryGetProperty("Regex", out JsonElement regex) && regex.ValueKind == JsonValueKind.String)
        {
            return Regex(regex.GetString()!, $"{source}: {what}");
        }
        throw new TokenizerException($"{source}: {what} pattern must be {{\"String\": …}} or {{\"Regex\": …}}, not {pattern.GetRawText()}.");
    }

    /// <summary>Non-overlapping matches, left to right. An empty literal matches nothing.</summary>
    public List<(int Start, int Length)> Matches(string text)
    {
        if (_regex is not null)
        {
            return _regex.Matches(text);
        }
        var result = new List<(int, int)>();
        if (_literal!.Length == 0)
        {
            return result;
        }
        for (int i = text.IndexOf(_literal, StringComparison.Ordinal); i >= 0; i = text.IndexOf(_literal, i + _literal.Length, StringComparison.Ordinal))
        {
            result.Add((i, _literal.Length));
        }
        return result;
    }

    /// <summary>Replaces every match with <paramref name="content"/>.</summary>
    public string Replace(string text, string content) =>
        _regex is not null ? _regex.Replace(text, content)
        : _literal!.Length == 0 ? text : text.Replace(_literal, content, StringComparison.Ordinal);
}
