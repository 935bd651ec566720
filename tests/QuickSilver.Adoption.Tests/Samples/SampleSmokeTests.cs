using QuickSilver.Testing;
using Xunit.Abstractions;

namespace QuickSilver.Adoption.Tests.Samples;

/// <summary>Runs each sample's entry point on the default model (stories260K) as CI's smoke test.</summary>
[Collection(SamplesCollection.Name)]
public sealed class SampleSmokeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AgentFrameworkDemo_runs_an_agent_with_a_tool_call_streaming_and_a_reused_kv_prefix()
    {
        var console = new StringWriter();
        int exit = await AgentFrameworkDemo.AgentFrameworkSample.RunAsync(["--model", SharedAssets.Stories260KGguf], console);
        output.WriteLine(console.ToString());
        Assert.True(exit == 0, console.ToString());
        Assert.Contains("AddNumbers(", console.ToString(), StringComparison.Ordinal);
        Assert.Contains("reused from the KV cache", console.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RagDemo_indexes_in_sqlite_retrieves_answers_and_reports_prefill_flops_and_prefix_hits()
    {
        var console = new StringWriter();
        int exit = await RagDemo.RagSample.RunAsync(["--model", SharedAssets.Stories260KGguf], console);
        output.WriteLine(console.ToString());
        Assert.True(exit == 0, console.ToString());
        string text = console.ToString();
        Assert.Contains("indexed ", text, StringComparison.Ordinal);
        Assert.Contains("| follow-up, safe policy |", text, StringComparison.Ordinal);
        Assert.Contains("FLOPs", text, StringComparison.Ordinal);
    }
}

/// <summary>The samples load models and print timings: run them one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SamplesCollection
{
    public const string Name = "samples";
}
