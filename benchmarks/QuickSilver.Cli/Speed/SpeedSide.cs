namespace QuickSilver.Cli.Speed;

/// <summary>What one engine measured on one file in its own process.</summary>
internal sealed class SpeedSide
{
    public required string Engine { get; init; }
    public bool Ok { get; set; }
    public string? Error { get; set; }
    public int PrefillTokens { get; set; }
    public double PrefillSeconds { get; set; }
    public double? PrefillTokensPerSecond => Ok && PrefillSeconds > 0 ? PrefillTokens / PrefillSeconds : null;
    public int DecodeTokens { get; set; }
    public double DecodeSecondsPerToken { get; set; }
    public double? DecodeTokensPerSecond => Ok && DecodeSecondsPerToken > 0 ? 1 / DecodeSecondsPerToken : null;
    public long? PeakRssBytes { get; set; }
    public double LoadSeconds { get; set; }
    public string? WeightFormats { get; set; }
    /// <summary>Decode: seconds per token by operation (ours only).</summary>
    public Dictionary<string, double>? DecodeProfile { get; set; }
}
