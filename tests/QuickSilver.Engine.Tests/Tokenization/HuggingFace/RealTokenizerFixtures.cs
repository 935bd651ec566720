using System.Text.Json;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Tokenization.HuggingFace;

/// <summary>The real tokenizers of ../shared/fixtures/real-tokenizers, loaded once, and their reference ids.</summary>
internal static class RealTokenizerFixtures
{
    private static readonly Lazy<HuggingFaceTokenizer> Llama = new(() => HuggingFaceTokenizer.Load(Folder("llama3_1")));
    private static readonly Lazy<HuggingFaceTokenizer> Qwen = new(() => HuggingFaceTokenizer.Load(Folder("qwen3")));
    private static readonly Lazy<string[]> CorpusTexts = new(() =>
        [.. JsonDocument.Parse(File.ReadAllBytes(SharedAssets.Path("fixtures", "real-tokenizers", "corpus.json"))).RootElement
            .EnumerateArray().Select(e => e.GetProperty("text").GetString()!)]);

    public static string Folder(string model) => SharedAssets.Path("fixtures", "real-tokenizers", model);

    public static HuggingFaceTokenizer Tokenizer(string model) => model switch
    {
        "llama3_1" => Llama.Value,
        "qwen3" => Qwen.Value,
        _ => throw new ArgumentOutOfRangeException(nameof(model)),
    };

    public static string[] Corpus => CorpusTexts.Value;

    /// <summary>ids_plain, ids_default and decoded of expected-ids.json.</summary>
    public static (int[][] Plain, int[][] Default, string[] Decoded) Expected(string model)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Folder(model), "expected-ids.json")));
        var root = doc.RootElement;
        int[][] Ids(string name) => [.. root.GetProperty(name).EnumerateArray().Select(a => a.EnumerateArray().Select(x => x.GetInt32()).ToArray())];
        return (Ids("ids_plain"), Ids("ids_default"), [.. root.GetProperty("decoded").EnumerateArray().Select(x => x.GetString()!)]);
    }
}
