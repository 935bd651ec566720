namespace QuickSilver.Cli.Tests;

/// <summary>The conformance command: a small matrix end to end, and bad selections refused before any work.</summary>
public sealed class ConformanceCommandTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Prints_and_writes_the_matrix_for_the_selected_types()
    {
        var run = CliRun.Invoke("conformance", "--arch", "llama2", "--types", "F32,Q4_K_M", "--text-tokens", "8", "--sampled-tokens", "8", "--threads", "2", "--out", _temp.Path);
        Assert.True(run.ExitCode == 0, run.Error + run.Output);
        Assert.Contains("| llama2 | F32 | F32×21 | yes |", run.Output, StringComparison.Ordinal);
        Assert.Contains("| llama2 | Q4_K_M mix | Q4_K×", run.Output, StringComparison.Ordinal);
        // 8 sampled tokens are too few for the 1 % perplexity goal; the engine's conformance tests check the goals on longer runs.
        Assert.Matches(@"\| llama2 \| F32 \|.*\| met \|", run.Output);
        Assert.Equal(2, _temp.Json("conformance.json").GetArrayLength());
    }

    [Theory]
    [InlineData("--types", "Q9_K", "Q9_K")]
    [InlineData("--arch", "falcon", "falcon")]
    public void Unknown_selections_are_named(string option, string value, string fragment)
    {
        var run = CliRun.Invoke("conformance", option, value, "--out", _temp.Path);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(fragment, run.Error, StringComparison.Ordinal);
    }
}
