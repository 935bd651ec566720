using QuickSilver.Cli.Infrastructure;

namespace QuickSilver.Cli.Compare;

/// <summary>What one side of the comparison measured (one worker process per side, so peak memory is that side's alone).</summary>
internal sealed class SideResult
{
    public required string Side { get; init; }
    public bool Ok { get; set; }
    public string? Error { get; set; }
    public string? Computes { get; set; }
    public int TextTokens { get; set; }
    public int PrefillTokens { get; set; }
    public Summary? PrefillSeconds { get; set; }
    public double? PrefillTokensPerSecond => PrefillSeconds is { Count: > 0 } s ? PrefillTokens / s.Median : null;
    public int DecodeTokens { get; set; }
    public Summary? DecodeSecondsPerToken { get; set; }
    public double? DecodeTokensPerSecond => DecodeSecondsPerToken is { Count: > 0 } s ? 1 / s.Median : null;
    public double? Perplexity { get; set; }
    public long ScoredTokens { get; set; }
    public string? PolicyName { get; set; }
    public Summary? PolicyPrefillSeconds { get; set; }
    public double? PolicyPrefillTokensPerSecond => PolicyPrefillSeconds is { Count: > 0 } s ? PrefillTokens / s.Median : null;
    public double? PolicyPerplexity { get; set; }
    public double? PolicyFlopsReduction { get; set; }
    public long? PeakRssBytes { get; set; }
    public bool SeparateProcess { get; set; }
}
