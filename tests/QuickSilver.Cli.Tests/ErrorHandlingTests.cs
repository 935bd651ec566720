namespace QuickSilver.Cli.Tests;

/// <summary>Bad arguments, missing inputs and unwritable outputs: one clear message on the error writer and a non-zero exit code, before any slow work.</summary>
public sealed class ErrorHandlingTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Text() => _temp.WriteText("text.txt", Texts.English);

    [Fact]
    public void UnknownCommandFails()
    {
        var run = CliRun.Invoke("frobnicate");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("frobnicate", run.Error);
    }

    [Fact]
    public void MissingRequiredOptionNamesIt()
    {
        var run = CliRun.Invoke("ppl", "--text", Text());
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("--model", run.Error);
    }

    [Fact]
    public void MissingModelFileIsReported()
    {
        string missing = _temp.File("no-such-model.gguf");
        var run = CliRun.Invoke("ppl", "--model", missing, "--text", Text(), "--out", _temp.File("out"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("does not exist", run.Error);
        Assert.Contains(missing, run.Error);
        Assert.False(Directory.Exists(_temp.File("out")), "nothing is written before the inputs are checked");
    }

    [Fact]
    public void UnknownRandomModelIsReported()
    {
        var run = CliRun.Invoke("ppl", "--model", "random:huge", "--text", Text(), "--out", _temp.File("out"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("random:huge", run.Error);
    }

    [Fact]
    public void FileThatIsNotAModelFailsToLoadWithItsName()
    {
        string bogus = _temp.WriteText("model.gguf", "this is not a model");
        var run = CliRun.Invoke("ppl", "--model", bogus, "--text", Text(), "--out", _temp.File("out"));
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("could not be loaded", run.Error);
    }

    [Fact]
    public void MissingTextIsReported()
    {
        string missing = _temp.File("missing.txt");
        var run = CliRun.Invoke("ppl", "--model", "random:tiny", "--text", missing, "--out", _temp.File("out"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("does not exist", run.Error);
        Assert.Contains("--text", run.Error);
    }

    [Fact]
    public void FolderGivenAsTextIsReported()
    {
        var run = CliRun.Invoke("ppl", "--model", "random:tiny", "--text", _temp.Path, "--out", _temp.File("out"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("is a folder", run.Error);
    }

    [Fact]
    public void EmptyTextIsReported()
    {
        string empty = _temp.WriteText("empty.txt", "   \n");
        var run = CliRun.Invoke("trace", "--model", "random:tiny", "--text", empty, "--out", _temp.File("out"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("is empty", run.Error);
    }

    [Theory]
    [InlineData("ppl")]
    [InlineData("trace")]
    [InlineData("pos")]
    [InlineData("ablate")]
    [InlineData("calibrate")]
    public void UnwritableOutputFolderIsReported(string command)
    {
        string file = _temp.WriteText("occupied", "a file where a folder should go");
        string under = Path.Combine(file, "results");
        var run = CliRun.Invoke(command, "--model", "random:tiny", "--text", Text(), "--out", under);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("cannot be written", run.Error);
    }

    [Fact]
    public void BenchRejectsUnwritableOutputFolder()
    {
        string file = _temp.WriteText("occupied", "x");
        var run = CliRun.Invoke("bench", "--model", "none", "--random-model", "random:tiny", "--out", file);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("cannot be written", run.Error);
    }

    [Fact]
    public void SummaryJsonUnderAFileIsReported()
    {
        string file = _temp.WriteText("occupied", "x");
        var run = CliRun.Invoke("bench", "--model", "none", "--gguf", "none", "--random-model", "random:tiny", "--out", _temp.File("out"),
            "--summary-json", Path.Combine(file, "summary.json"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("cannot be written", run.Error);
    }

    [Fact]
    public void SummaryRefusesMissingEvaluationText()
    {
        var run = CliRun.Invoke("bench", "--model", "none", "--gguf", "none", "--random-model", "random:tiny", "--out", _temp.File("out"),
            "--summary-json", _temp.File("s.json"), "--eval-text", _temp.File("missing.txt"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--eval-text", run.Error);
    }

    [Theory]
    [InlineData("--window", "1", "--window")]
    [InlineData("--stride", "999", "--stride")]
    [InlineData("--max-tokens", "1", "--max-tokens")]
    [InlineData("--threads", "-1", "--threads")]
    [InlineData("--policy", "no-such-preset", "neither a preset")]
    public void BadPplArgumentsAreReported(string option, string value, string expected)
    {
        var run = CliRun.Invoke("ppl", "--model", "random:tiny", "--text", Text(), "--out", _temp.File("out"), option, value);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(expected, run.Error);
    }

    [Fact]
    public void WindowLongerThanTheModelContextIsReported()
    {
        var run = CliRun.Invoke("ppl", "--model", "random:tiny", "--text", Text(), "--out", _temp.File("out"), "--window", "600", "--stride", "300");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("exceeds the model's context", run.Error);
    }

    [Fact]
    public void InvalidPolicyJsonIsReported()
    {
        string policy = _temp.WriteText("policy.json", "{ \"Halting\": { \"DriftThreshold\": \"lots\" ");
        var run = CliRun.Invoke("ppl", "--model", "random:tiny", "--text", Text(), "--out", _temp.File("out"), "--policy", policy);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("not a valid policy", run.Error);
    }

    [Theory]
    [InlineData("--runs", "0")]
    [InlineData("--tokens", "-5")]
    [InlineData("--decode-tokens", "0")]
    public void BadBenchArgumentsAreReported(string option, string value)
    {
        var run = CliRun.Invoke("bench", "--model", "none", "--random-model", "random:tiny", "--out", _temp.File("out"), option, value);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(option, run.Error);
    }

    [Fact]
    public void BenchRejectsACheckpointAsRandomModel()
    {
        var run = CliRun.Invoke("bench", "--model", "none", "--random-model", Text(), "--out", _temp.File("out"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--random-model", run.Error);
    }

    [Fact]
    public void TraceRejectsAbsurdFigureSizes()
    {
        var run = CliRun.Invoke("trace", "--model", "random:tiny", "--text", Text(), "--out", _temp.File("out"), "--width", "10");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--width", run.Error);
    }

    [Fact]
    public void CalibrateRejectsUnknownSweepField()
    {
        var run = CliRun.Invoke("calibrate", "--model", "random:tiny", "--text", Text(), "--out", _temp.File("out"), "--sweep", "Halting.Bogus");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("Halting.Bogus", run.Error);
    }

    [Fact]
    public void CalibrateRejectsHeldOutTextEqualToCalibrationText()
    {
        string text = Text();
        var run = CliRun.Invoke("calibrate", "--model", "random:tiny", "--text", text, "--held-out-text", text, "--out", _temp.File("out"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--held-out-text", run.Error);
    }

    [Fact]
    public void AblateRefusesToEvaluateOnTheCalibrationText()
    {
        string text = Text();
        string copy = _temp.WriteText("copy.txt", Texts.English);
        var run = CliRun.Invoke("ablate", "--model", "random:tiny", "--text", text, "--calibration-text", copy, "--out", _temp.File("out"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("calibration text", run.Error);
    }

    [Fact]
    public void CompareRejectsRandomModels()
    {
        var run = CliRun.Invoke("compare", "--model", "random:tiny", "--text", Text(), "--out", _temp.File("out"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("GGUF", run.Error);
    }

    [Fact]
    public void PosNeedsAPolicyThatHalts()
    {
        var run = CliRun.Invoke("pos", "--model", "random:tiny", "--text", Text(), "--out", _temp.File("out"), "--policy", "dense");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("does not enable halting", run.Error);
    }
}
