using QuickSilver.Cli.Infrastructure;

namespace QuickSilver.Cli.Bench;

/// <summary>Dense prefill throughput of one model.</summary>
internal sealed record PrefillResult(string Model, int Tokens, double DenseFlops, Summary Seconds)
{
    public double TokensPerSecond => Tokens / Seconds.Median;
    public double GflopsPerSecond => DenseFlops / Seconds.Median / 1e9;
}

/// <summary>Greedy decode throughput.</summary>
internal sealed record DecodeResult(string Model, int PromptTokens, int DecodedTokens, Summary SecondsPerToken)
{
    public double TokensPerSecond => 1 / SecondsPerToken.Median;
}

/// <summary>Decode rate through the public session API: tokens after the first ÷ time after the first token.</summary>
internal sealed record GenerateResult(int PromptTokens, int GeneratedTokens, string FinishReason, double Seconds, double TimeToFirstToken)
{
    public double? TokensPerSecond => GeneratedTokens > 1 && Seconds > TimeToFirstToken ? (GeneratedTokens - 1) / (Seconds - TimeToFirstToken) : null;
}

/// <summary>Dense versus one prescribed profile, interleaved.</summary>
internal sealed record ProfileResult(
    string Name, string Description, double TargetRemovedFraction, double RemovedTokenLayerFraction,
    double DenseFlops, double ActualFlops, double RouterFlops, double FlopsSavedFraction, long KvBytes, long DenseKvBytes,
    Summary DenseSeconds, Summary PolicySeconds, Summary TimeRatio, Summary TimeSavedFraction, Summary Realization);

internal sealed class BenchResult
{
    public required string Date { get; init; }
    public required int Threads { get; init; }
    public required string Machine { get; init; }
    public required string RandomModel { get; init; }
    public required int Tokens { get; init; }
    public required int Runs { get; init; }
    public MatmulResult? Matmul { get; set; }
    public PrefillResult? DensePrefill { get; set; }
    /// <summary>Per interleaved round: (dense FLOPs / dense time) / (raw matmul FLOPs / raw time), raw = the layer matmuls run once per layer.</summary>
    public Summary? AchievedOverRawRounds { get; set; }
    public double? AchievedOverRaw => AchievedOverRawRounds is { Count: > 0 } r ? r.Median
        : Matmul is null || DensePrefill is null ? null : DensePrefill.GflopsPerSecond / Matmul.GflopsPerSecond;
    public PrefillResult? RealModelPrefill { get; set; }
    public DecodeResult? RealModelDecode { get; set; }
    /// <summary>The same through InferenceSession.Generate (greedy; it stops early at EOS).</summary>
    public GenerateResult? RealModelGenerate { get; set; }
    public List<ProfileResult> Realization { get; } = [];
    public ProfileResult? Overhead { get; set; }
    public ProfileResult? OverheadWithoutQuantization { get; set; }
    public List<string> Notes { get; } = [];
}
