using System.Text.Json;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Tokenization;

/// <summary>The tokenizer parts of shared/goldens/llama-stories260K.json.</summary>
internal static class LlamaGolden
{
    private static readonly Lazy<JsonElement> Root = new(() =>
        JsonDocument.Parse(File.ReadAllText(SharedAssets.LlamaGolden)).RootElement);

    public sealed record Case(string Text, int[] Ids, string? Decoded);

    public static IReadOnlyList<Case> TokenizerCases => Root.Value.GetProperty("tokenizer_cases").EnumerateArray()
        .Select(c => new Case(c.GetProperty("text").GetString()!, Ints(c.GetProperty("ids")), c.GetProperty("decoded").GetString()))
        .ToArray();

    public static IReadOnlyList<Case> Prompts => Root.Value.GetProperty("prompts").EnumerateArray()
        .Select(c => new Case(c.GetProperty("text").GetString()!, Ints(c.GetProperty("ids")), null))
        .ToArray();

    public static int[] NllIds => Ints(Root.Value.GetProperty("nll")[0].GetProperty("ids"));

    public static string NllFile => Root.Value.GetProperty("nll")[0].GetProperty("file").GetString()!;

    public static int NllWholeFileTokens => Root.Value.GetProperty("nll")[0].GetProperty("n_tokens_whole_file").GetInt32();

    public static int[] GreedyIds => Ints(Root.Value.GetProperty("greedy").GetProperty("ids"));

    public static string GreedyText => Root.Value.GetProperty("greedy").GetProperty("text").GetString()!;

    public static IEnumerable<object[]> CaseIndexes() => Enumerable.Range(0, TokenizerCases.Count).Select(i => new object[] { i });

    private static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();
}
