namespace QuickSilver.Extensions.AI;

/// <summary>
/// Keys of <c>ChatOptions.AdditionalProperties</c> that carry per-request QuickSilver settings. Any other key starting with
/// "quicksilver." is rejected, so a typo does not silently do nothing. Values may be strings, numbers, booleans or JSON elements.
/// </summary>
public static class QuickSilverChatOptionKeys
{
    /// <summary>Prefix of every QuickSilver key.</summary>
    public const string Prefix = "quicksilver.";
    /// <summary>Policy preset name for this request ("dense", "safe", "paper").</summary>
    public const string Policy = "quicksilver.policy";
    /// <summary>The mechanisms to enable, exactly: a list or comma-separated string of "halting", "kvskip", "fusion", "quantization" (or "none").</summary>
    public const string Mechanisms = "quicksilver.mechanisms";
    /// <summary>Halting on/off.</summary>
    public const string Halting = "quicksilver.halting";
    /// <summary>KV skipping on/off.</summary>
    public const string KvSkip = "quicksilver.kvskip";
    /// <summary>Fusion on/off.</summary>
    public const string Fusion = "quicksilver.fusion";
    /// <summary>Quantization on/off.</summary>
    public const string Quantization = "quicksilver.quantization";
    /// <summary>τ_drift.</summary>
    public const string DriftThreshold = "quicksilver.halting.driftThreshold";
    /// <summary>τ_halt.</summary>
    public const string EntropyThreshold = "quicksilver.halting.entropyThreshold";
    /// <summary>τ_kv.</summary>
    public const string KvAttentionThreshold = "quicksilver.kvskip.attentionThreshold";
    /// <summary>τ_fuse.</summary>
    public const string FusionDistanceThreshold = "quicksilver.fusion.distanceThreshold";
    /// <summary>τ_low.</summary>
    public const string QuantizationLowThreshold = "quicksilver.quantization.lowThreshold";
    /// <summary>τ_high.</summary>
    public const string QuantizationHighThreshold = "quicksilver.quantization.highThreshold";
    /// <summary>Extra words never halted, fused or quantized below 8 bits (list or comma-separated string).</summary>
    public const string ProtectedWords = "quicksilver.protectedWords";
    /// <summary>Repetition penalty (no ChatOptions property carries it).</summary>
    public const string RepetitionPenalty = "quicksilver.repetitionPenalty";
    /// <summary>true: collect the per-token trace (halting layer, drift and entropy series, K/V writes, fusion partner, bits); the final update carries it under <see cref="QuickSilverChatClient.TraceKey"/>. Costs host syncs.</summary>
    public const string Trace = "quicksilver.trace";
    /// <summary>true/false: prompt-lookup drafting for this request (default <see cref="QuickSilverOptions.PromptLookup"/>).</summary>
    public const string PromptLookup = "quicksilver.promptLookup";
    /// <summary>true/false: early-exit drafting for this request (default <see cref="QuickSilverOptions.EarlyExitDrafting"/>).</summary>
    public const string EarlyExitDrafting = "quicksilver.earlyExitDrafting";
    /// <summary>true/false: jump-forward for this request (default <see cref="QuickSilverOptions.JumpForward"/>).</summary>
    public const string JumpForward = "quicksilver.jumpForward";
    /// <summary>1 to 31: most draft tokens per step for this request (default <see cref="QuickSilverOptions.MaxDraftTokens"/>).</summary>
    public const string MaxDraftTokens = "quicksilver.maxDraftTokens";

    internal static IReadOnlyList<string> All { get; } =
    [
        Policy, Mechanisms, Halting, KvSkip, Fusion, Quantization, DriftThreshold, EntropyThreshold, KvAttentionThreshold,
        FusionDistanceThreshold, QuantizationLowThreshold, QuantizationHighThreshold, ProtectedWords, RepetitionPenalty, Trace,
        PromptLookup, EarlyExitDrafting, JumpForward, MaxDraftTokens,
    ];
}
