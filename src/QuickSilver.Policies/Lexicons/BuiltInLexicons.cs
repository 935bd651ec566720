namespace QuickSilver.Policies;

/// <summary>The lexicons <see cref="TokenLexicons.ProtectNegations"/> and <see cref="TokenLexicons.ProtectJsonStructure"/> switch on, in <see cref="LexiconMatcher"/> syntax.</summary>
public static class BuiltInLexicons
{
    /// <summary>English negation words and clitics (paper B.5/H.7: negators must not be halted). "*n't" matches the clitic at the end of any word ("don't", "isn't").</summary>
    public static IReadOnlyList<string> Negations { get; } =
    [
        "not", "no", "never", "*n't", "nor", "none", "nothing", "nobody", "neither", "nowhere", "noone", "no one",
        "cannot", "without", "hardly", "barely", "scarcely", "seldom", "rarely", "lack", "lacks", "lacking",
        "neglect", "fail", "fails", "failed", "refuse", "refused", "deny", "denied", "unless", "instead",
        "cant", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont", "wouldnt", "shouldnt", "couldnt",
        "hasnt", "havent", "hadnt", "aint", "nope", "nah",
    ];

    /// <summary>JSON structure: brackets, braces, colon, comma, quote, and the multi-character pieces BPE tokenizers emit for them (<c>":</c>, <c>",</c>, <c>{"</c>, ...).</summary>
    public static IReadOnlyList<string> JsonStructure { get; } =
    [
        "{", "}", "[", "]", ":", ",", "\"",
        "\":", "\",", "{\"", "\"}", "[\"", "\"]", "\":\"", "\",\"", "\":{", "\":[", "},", "],", "}}", "]]", "[{", "}]",
    ];
}
