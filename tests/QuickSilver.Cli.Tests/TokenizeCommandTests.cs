using System.Text.Json;
using QuickSilver.Testing;

namespace QuickSilver.Cli.Tests;

/// <summary><c>quicksilver tokenize</c>: the I/O of issue 9, on real tokenizers and on every accepted path kind.</summary>
public sealed class TokenizeCommandTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string Fixture(params string[] parts) => SharedAssets.Path(["fixtures", "real-tokenizers", .. parts]);

    [Theory]
    [InlineData("llama3_1")]
    [InlineData("qwen3")]
    public void Hf_folder_gives_the_reference_ids_and_decodes_of_the_202_strings(string model)
    {
        string[] corpus = [.. JsonDocument.Parse(File.ReadAllText(Fixture("corpus.json"))).RootElement.EnumerateArray().Select(e => e.GetProperty("text").GetString()!)];
        string input = _temp.WriteText("strings.json", JsonSerializer.Serialize(corpus));
        string output = _temp.File("out/ids.json");

        var run = CliRun.Invoke("tokenize", "--tokenizer", Fixture(model), "--input", input, "--output", output);

        Assert.True(run.ExitCode == 0, run.Error);
        var result = JsonDocument.Parse(File.ReadAllText(output)).RootElement;
        var expected = JsonDocument.Parse(File.ReadAllText(Fixture(model, "expected-ids.json"))).RootElement;
        Assert.Equal(expected.GetProperty("ids_plain").Deserialize<int[][]>(), result.GetProperty("ids").Deserialize<int[][]>());
        Assert.Equal(expected.GetProperty("decoded").EnumerateArray().Select(e => e.GetString()), result.GetProperty("decoded").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void Gguf_tokenizer_model_and_llama2c_bin_are_accepted_without_bos()
    {
        string input = _temp.WriteText("strings.json", """["Once upon a time", "", "<s> stays text"]""");
        foreach (string path in new[] { SharedAssets.Stories260KGguf, SharedAssets.Stories260KTokenizer, Path.Combine(SharedAssets.Llama2TokenizerDir, "tokenizer.model") })
        {
            string output = _temp.File($"{Path.GetFileName(path)}.json");
            var run = CliRun.Invoke("tokenize", "--tokenizer", path, "--input", input, "--output", output);
            Assert.True(run.ExitCode == 0, run.Error);
            var result = JsonDocument.Parse(File.ReadAllText(output)).RootElement;
            var ids = result.GetProperty("ids").EnumerateArray().ToArray();
            Assert.Equal(3, ids.Length);
            Assert.NotEqual(1, ids[0][0].GetInt32()); // no BOS
            Assert.Equal(0, ids[1].GetArrayLength());
            Assert.Equal(["Once upon a time", "", "<s> stays text"], result.GetProperty("decoded").EnumerateArray().Select(e => e.GetString()!));
        }
    }

    [Fact]
    public void Bad_input_is_a_usage_error_naming_the_file_and_entry()
    {
        string notArray = _temp.WriteText("obj.json", """{"a": 1}""");
        string mixed = _temp.WriteText("mixed.json", """["ok", 3]""");
        string broken = _temp.WriteText("broken.json", "[\"x\"");
        string tok = SharedAssets.Stories260KTokenizer;
        Assert.Contains("must hold a JSON array of strings", Run(notArray).Error);
        Assert.Contains("entry 1 is a Number", Run(mixed).Error);
        Assert.Contains("is not valid JSON", Run(broken).Error);
        var missing = CliRun.Invoke("tokenize", "--tokenizer", _temp.File("nope.json"), "--input", mixed, "--output", _temp.File("o.json"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--tokenizer", missing.Error);

        CliRun Run(string input)
        {
            var run = CliRun.Invoke("tokenize", "--tokenizer", tok, "--input", input, "--output", _temp.File("o.json"));
            Assert.Equal(2, run.ExitCode);
            Assert.Contains(input, run.Error);
            return run;
        }
    }
}
