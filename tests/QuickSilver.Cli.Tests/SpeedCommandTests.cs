using QuickSilver.Cli.Speed;

namespace QuickSilver.Cli.Tests;

/// <summary>quicksilver speed: argument errors come before any file is generated; the worker rejects unknown engines; the table renders every column.</summary>
public sealed class SpeedCommandTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void UnknownFormatIsReportedBeforeAnyWork()
    {
        string cache = _temp.File("cache");
        var run = CliRun.Invoke("speed", "--formats", "Q8_0,Q3_Z", "--cache", cache, "--out", _temp.File("out"));
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("Q3_Z", run.Error);
        Assert.False(Directory.Exists(cache), "no model is generated before the arguments are checked");
    }

    [Fact]
    public void NonPositiveCountsAreReported()
    {
        var run = CliRun.Invoke("speed", "--decode-tokens", "0", "--cache", _temp.File("cache"), "--out", _temp.File("out"));
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("--decode-tokens", run.Error);
    }

    [Fact]
    public void UnknownKvTypeIsReportedBeforeAnyWork()
    {
        string cache = _temp.File("cache");
        var run = CliRun.Invoke("speed", "--formats", "Q8_0", "--kv-type", "Float8", "--cache", cache, "--out", _temp.File("out"));
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("--kv-type", run.Error);
        Assert.Contains("Float8", run.Error);
        Assert.False(Directory.Exists(cache), "no model is generated before the arguments are checked");
        run = CliRun.Invoke("speed-worker", "--engine", "quicksilver", "--model", "x.gguf", "--kv-type", "3", "--result", _temp.File("r.json"));
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("--kv-type", run.Error);
    }

    [Fact]
    public void WorkerRejectsAnUnknownEngine()
    {
        var run = CliRun.Invoke("speed-worker", "--engine", "onnx", "--model", "x.gguf", "--result", _temp.File("r.json"));
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("--engine", run.Error);
    }

    [Fact]
    public void TableShowsRatiosAndTheBandwidthLimit()
    {
        var result = new SpeedResult { Date = "d", Machine = "m", Command = "quicksilver speed", Threads = 2, PromptTokens = 512, DecodeTokens = 128, Rounds = 1, BandwidthBytesPerSecond = 40e9 };
        var row = new SpeedRow { Format = "Q8_0", File = "f.gguf", FileBytes = 398_000_000, DecodeBytesPerToken = 400_000_000, BandwidthBytesPerSecond = 40e9 };
        row.Ours.Add(new SpeedSide
        {
            Engine = "quicksilver", Ok = true, PrefillTokens = 512, PrefillSeconds = 2, DecodeTokens = 128, DecodeSecondsPerToken = 0.02, PeakRssBytes = 600_000_000,
            DecodeProfile = new() { ["q|k|v projection"] = 0.015, ["attention"] = 0.005 }, TensorPathDecodeSecondsPerToken = 0.03,
            ManagedBytesPerPrefill = 450_000, ManagedBytesPerDecodeToken = 40_300,
        });
        row.LlamaCpp.Add(new SpeedSide { Engine = "llama.cpp", Ok = true, PrefillTokens = 512, PrefillSeconds = 4, DecodeTokens = 128, DecodeSecondsPerToken = 0.04, PeakRssBytes = 500_000_000 });
        result.Rows.Add(row);
        var stories = new SpeedRow { Format = "stories260K", File = "s.gguf", FileBytes = 1_000_000, DecodeBytesPerToken = 1_000_000, BandwidthBytesPerSecond = 40e9 };
        stories.Ours.Add(new SpeedSide { Engine = "quicksilver", Ok = true, PrefillTokens = 512, PrefillSeconds = 0.1, DecodeTokens = 128, DecodeSecondsPerToken = 0.0002, TensorPathDecodeSecondsPerToken = 0.001 });
        stories.LlamaCpp.Add(new SpeedSide { Engine = "llama.cpp", Ok = true, PrefillTokens = 512, PrefillSeconds = 0.2, DecodeTokens = 128, DecodeSecondsPerToken = 0.00025 });
        result.Stories = stories;
        string table = SpeedRunner.Render(result);
        Assert.Contains("| Q8_0 | 0.40 | 256.0 / 128.0 (2.00×) | 50.0 / 25.0 (2.00×) | 100.0 | 50% / 25% | 0.60 / 0.50 (1.20×) |", table);
        Assert.Contains("q|k|v projection 15.000 ms (75%)", table);
        Assert.Contains("decode 5000 / 4000 tok/s ours / llama.cpp (**1.25×**)", table);
        Assert.Contains("- Q8_0: 50.0 / 33.3 tok/s (row path 1.50× faster)", table);
        Assert.Contains("- Q8_0: 0.45 MB per prefill, 40.3 KB per decode token", table);
        Assert.Equal(1.25, result.Ratios["stories260k_decode_ratio"]!.Value, 6);
        Assert.Equal(0.5, result.Ratios["q8_0_bandwidth_fraction_ours"]!.Value, 6);
        Assert.Equal(1.2, result.Ratios["q8_0_rss_ratio"]!.Value, 6);
    }
}
