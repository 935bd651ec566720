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
    /// <summary>
    /// Process CPU seconds (user + system, all threads) over the timed decode ÷ its tokens (ours only): on a loaded machine
    /// the wall clock counts other processes' turns, this does not (spin-waiting worker threads do count).
    /// </summary>
    public double? DecodeCpuSecondsPerToken { get; set; }
    public long? PeakRssBytes { get; set; }
    /// <summary>Resident bytes (VmRSS) after load, prefill and decode (see <see cref="MemoryStage"/>).</summary>
    public Dictionary<string, long>? RssByStage { get; set; }
    /// <summary>The peak so far (VmHWM) at the same stages.</summary>
    public Dictionary<string, long>? PeakRssByStage { get; set; }
    /// <summary>
    /// Managed bytes allocated (all threads) per timed prefill and per timed decode token (ours only): what a run adds to
    /// the .NET GC's gen0 budget, whose pages become resident as it is filled.
    /// </summary>
    public long? ManagedBytesPerPrefill { get; set; }
    /// <inheritdoc cref="ManagedBytesPerPrefill"/>
    public long? ManagedBytesPerDecodeToken { get; set; }
    public double LoadSeconds { get; set; }
    public string? WeightFormats { get; set; }
    /// <summary>Decode: mean seconds per token by operation, from a separate profiled pass (ours only).</summary>
    public Dictionary<string, double>? DecodeProfile { get; set; }
    /// <summary>Decode on the tensor path (host row path off), mean seconds per token (ours only).</summary>
    public double? TensorPathDecodeSecondsPerToken { get; set; }
    /// <summary>The tensor path's profile, as <see cref="DecodeProfile"/>.</summary>
    public Dictionary<string, double>? TensorPathDecodeProfile { get; set; }
}
