using QuickSilver.Cli.Bench;
using QuickSilver.Cli.Infrastructure;

namespace QuickSilver.Cli.Tests;

/// <summary>The issue-12 summary measurements run end to end and report a ratio (their values are the benchmark's business).</summary>
public sealed class AccelerationBenchTests
{
    [Fact]
    public void Speculative_jump_forward_and_prefix_cache_measurements_report_ratios()
    {
        var notes = new List<string>();
        using (var stories = ModelLoader.Load(SharedPaths.Stories260KBin!, 1))
        {
            Assert.NotNull(AccelerationBench.SpeculativeSpeedup(stories, 16, 1, notes));
            Assert.NotNull(AccelerationBench.PrefixCacheTtftRatio(stories, 1, notes));
        }
        using (var tiny = ModelLoader.Load(ModelLoader.RandomTiny, 1))
            Assert.NotNull(AccelerationBench.JumpForwardSpeedup(tiny, 1, notes));
        Assert.Contains(notes, n => n.StartsWith("speculative_speedup_agent: stories260K", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.Contains("reused", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.Contains("tokens forced", StringComparison.Ordinal));
    }
}
