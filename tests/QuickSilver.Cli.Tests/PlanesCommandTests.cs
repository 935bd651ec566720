namespace QuickSilver.Cli.Tests;

/// <summary>quicksilver planes: argument errors come before any model is loaded or generated; a stories260K run renders every row.</summary>
public sealed class PlanesCommandTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void UnknownModelIsReportedBeforeAnyWork()
    {
        string cache = _temp.File("cache");
        var run = CliRun.Invoke("planes", "--models", "stories260K,gpt5", "--cache", cache, "--out", _temp.File("out"));
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("gpt5", run.Error);
        Assert.False(Directory.Exists(cache), "no model is generated before the arguments are checked");
    }

    [Fact]
    public void NonPositiveCountsAreReported()
    {
        var run = CliRun.Invoke("planes", "--decode-tokens", "0", "--out", _temp.File("out"));
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("--decode-tokens", run.Error);
    }

    [Fact]
    public void UnknownSettingIsReportedBeforeAnyWork()
    {
        string cache = _temp.File("cache");
        var run = CliRun.Invoke("planes", "--models", "374m", "--settings", "8,3", "--cache", cache, "--out", _temp.File("out"));
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("--settings", run.Error);
        Assert.Contains("'3'", run.Error);
        Assert.False(Directory.Exists(cache), "no model is generated before the arguments are checked");
    }

    [Fact]
    public void A_subset_decoded_in_turn_reports_only_its_rows()
    {
        var run = CliRun.Invoke("planes", "--models", "stories260K", "--settings", "8,4,4head", "--alternate", "--decode-tokens", "3", "--rounds", "1", "--prompt-tokens", "8",
            "--ppl-tokens", "300", "--out", _temp.File("out"));
        Assert.True(run.ExitCode == 0, run.Error);
        foreach (var row in new[] { "| 8 bits (all blocks)", "| 4 bits (all blocks)", "| 4 bits, all blocks and head" })
            Assert.Contains(row, run.Output);
        Assert.DoesNotContain("| 2 bits (all blocks)", run.Output);
        Assert.DoesNotContain("entropy 8/4/2, decision", run.Output);
    }

    [Fact]
    public void A_small_stories260K_run_reports_every_width_the_policy_and_the_perplexity_cost()
    {
        var run = CliRun.Invoke("planes", "--models", "stories260K", "--decode-tokens", "3", "--rounds", "1", "--prompt-tokens", "8", "--ppl-tokens", "300", "--out", _temp.File("out"));
        Assert.True(run.ExitCode == 0, run.Error);
        foreach (var row in new[] { "8 bits (all blocks)", "4 bits (all blocks)", "2 bits (all blocks)", "entropy 8/4/2", "K/V packed at 8 bits", "perplexity (TinyStories)" })
            Assert.Contains(row, run.Output);
        Assert.True(File.Exists(Path.Combine(_temp.File("out"), "planes.json")));
    }
}
