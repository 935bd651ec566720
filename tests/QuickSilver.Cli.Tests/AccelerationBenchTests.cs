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
        Assert.Equal(2, notes.Count(n => n.Contains("in process CPU time", StringComparison.Ordinal)));
    }
}

/// <summary>The oracle drafter behind speculative_oracle_step_ceiling.</summary>
public sealed class DraftOracleTests
{
    [Fact]
    public void The_oracle_copies_the_best_earlier_continuation_of_the_pending_token()
    {
        // Token 1 comes from the prefill; 2 matches the prompt's 2, whose continuation 3 4 5 is the output's (then 1 ≠ 6);
        // 6 has no earlier occurrence. Three steps for six tokens.
        Assert.Equal(3, DraftOracle.Steps([1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6], 8));
        // The draft length caps what one step accepts.
        Assert.Equal(4, DraftOracle.Steps([1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6], 1));
        // Of two earlier occurrences the longer continuation wins, whichever comes first.
        Assert.Equal(2, DraftOracle.BestMatch([7, 9, 7, 8, 8, 7], [7, 8, 8, 1], 0, 8));
    }
}

/// <summary>The accel-probe command: its argument checks and one quick run over both probes.</summary>
public sealed class AccelProbeCommandTests
{
    [Fact]
    public void An_unknown_what_is_a_usage_error_naming_the_option()
    {
        var run = CliRun.Invoke("accel-probe", "--what", "nothing");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("--what", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Both_probes_run_and_report_identical_tokens()
    {
        var run = CliRun.Invoke("accel-probe", "--tokens", "8", "--runs", "1", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("prompt lookup: plain ÷ this", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("DIFFER", run.Output, StringComparison.Ordinal);
        Assert.Contains("plain ÷ jump-forward", run.Output, StringComparison.Ordinal);
        Assert.Contains("oracle:", run.Output, StringComparison.Ordinal);
    }
}

/// <summary>accel-probe's oracle mode: given prompts, free or as a constrained tool call.</summary>
public sealed class AccelProbeOracleTests
{
    [Fact]
    public void Oracle_reports_each_given_prompt_and_a_tool_call_output_is_the_call()
    {
        var run = CliRun.Invoke("accel-probe", "--what", "oracle", "--tokens", "6", "--threads", "1", "--prompt", "Tom had a ball.", "--prompt", "Lily ran.");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal(2, run.Output.Split("oracle: 6 tokens").Length - 1);
        Assert.Contains("prompt (", run.Output, StringComparison.Ordinal);

        var call = CliRun.Invoke("accel-probe", "--what", "oracle", "--tokens", "40", "--threads", "1", "--tool-call", "--prompt", "Send a note.");
        Assert.True(call.ExitCode == 0, call.Error);
        Assert.Contains("output: {\"name\":\"send_", call.Output, StringComparison.Ordinal);
    }
}

/// <summary>The accel-probe command through the chat client: every variant replies with plain decoding's text.</summary>
public sealed class AccelProbeClientTests
{
    [Fact]
    public void Client_probe_reports_every_variant_with_the_plain_text()
    {
        var run = CliRun.Invoke("accel-probe", "--what", "client", "--tokens", "6", "--runs", "1", "--threads", "1");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("Through IChatClient", run.Output, StringComparison.Ordinal);
        Assert.Contains("| lookup + early exit |", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("| False |", run.Output, StringComparison.Ordinal);
    }
}
