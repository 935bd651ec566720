using QuickSilver.Testing;

namespace QuickSilver.Cli.Tests;

/// <summary>compare on the shared stories260K GGUF: both sides run, and two independent implementations agree on perplexity.</summary>
public sealed class CompareTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private string[] Args(bool inProcess)
    {
        var args = new List<string>
        {
            "compare", "--model", SharedAssets.Stories260KGguf, "--text", SharedAssets.TinyStoriesSample, "--out", _temp.File("compare"),
            "--runs", "1", "--prompt-tokens", "64", "--decode-tokens", "8", "--max-tokens", "300", "--window", "128", "--stride", "64", "--policy", "dense",
        };
        if (inProcess) args.Add("--in-process");
        return [.. args];
    }

    [Fact]
    public void BothSidesAgreeOnPerplexityInTheSameWindows()
    {
        var run = CliRun.Invoke(Args(inProcess: true));
        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        var json = _temp.Json("compare/compare.json");
        var ours = json.GetProperty("ours");
        var llama = json.GetProperty("llama_sharp");
        Assert.True(ours.GetProperty("ok").GetBoolean(), ours.GetProperty("error").ToString());
        Assert.True(llama.GetProperty("ok").GetBoolean(), llama.GetProperty("error").ToString());
        Assert.Equal(ours.GetProperty("scored_tokens").GetInt64(), llama.GetProperty("scored_tokens").GetInt64());
        Assert.Equal(ours.GetProperty("text_tokens").GetInt32(), llama.GetProperty("text_tokens").GetInt32());
        double a = ours.GetProperty("perplexity").GetDouble(), b = llama.GetProperty("perplexity").GetDouble();
        Assert.InRange(a / b, 0.999, 1.001); // float32 TorchSharp versus llama.cpp on the same f32 weights, same windows
        Assert.Equal(8, ours.GetProperty("decode_tokens").GetInt32());
        Assert.True(ours.GetProperty("peak_rss_bytes").GetInt64() > 0);
        Assert.Contains("ours / LLamaSharp", File.ReadAllText(_temp.File("compare/compare.md")));
    }

    [Fact]
    public void LlamaSharpFailureIsReportedNotThrown()
    {
        string bogus = _temp.WriteText("broken.gguf", "GGUF? no: just text");
        var settings = new QuickSilver.Cli.Compare.CompareSettings { Model = bogus, Text = SharedAssets.TinyStoriesSample, Runs = 1, DecodeTokens = 2, PromptTokens = 8 };
        var result = QuickSilver.Cli.Compare.LlamaSharpSide.Run(settings, new QuickSilver.Cli.Infrastructure.Reporter(TextWriter.Null, false));
        Assert.False(result.Ok);
        Assert.False(string.IsNullOrWhiteSpace(result.Error));
        Assert.Null(result.PrefillTokensPerSecond);
    }

    [Fact]
    public void WorkersRunInSeparateProcesses()
    {
        var run = CliRun.Invoke(Args(inProcess: false));
        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        var json = _temp.Json("compare/compare.json");
        Assert.True(json.GetProperty("ours").GetProperty("separate_process").GetBoolean());
        Assert.True(json.GetProperty("ours").GetProperty("ok").GetBoolean(), json.GetProperty("ours").GetProperty("error").ToString());
        Assert.True(json.GetProperty("llama_sharp").GetProperty("ok").GetBoolean(), json.GetProperty("llama_sharp").GetProperty("error").ToString());
    }
}
