namespace QuickSilver.Extensions.AI;

/// <summary>
/// Individual policy settings laid over a preset or a policy file: mechanism switches and thresholds.
/// Null leaves the base policy's value. The same settings can be given per request through
/// <c>ChatOptions.AdditionalProperties</c> (see <see cref="QuickSilverChatOptionKeys"/>).
/// </summary>
public sealed class QuickSilverPolicyOverrides
{
    /// <summary>Turns dynamic token halting on or off.</summary>
    public bool? Halting { get; set; }
    /// <summary>Turns KV-cache skipping on or off.</summary>
    public bool? KvSkip { get; set; }
    /// <summary>Turns contextual token fusion on or off.</summary>
    public bool? Fusion { get; set; }
    /// <summary>Turns adaptive quantization on or off.</summary>
    public bool? Quantization { get; set; }
    /// <summary>τ_drift (halting), non-negative.</summary>
    public float? DriftThreshold { get; set; }
    /// <summary>τ_halt on logit-lens entropy in nats (halting), non-negative.</summary>
    public float? EntropyThreshold { get; set; }
    /// <summary>τ_kv (KV skipping), non-negative.</summary>
    public float? KvAttentionThreshold { get; set; }
    /// <summary>τ_fuse (fusion), non-negative.</summary>
    public float? FusionDistanceThreshold { get; set; }
    /// <summary>τ_low (quantization), non-negative and not above τ_high.</summary>
    public float? QuantizationLowThreshold { get; set; }
    /// <summary>τ_high (quantization), non-negative.</summary>
    public float? QuantizationHighThreshold { get; set; }

    /// <summary>True when no setting is given.</summary>
    public bool IsEmpty => Halting is null && KvSkip is null && Fusion is null && Quantization is null && DriftThreshold is null
        && EntropyThreshold is null && KvAttentionThreshold is null && FusionDistanceThreshold is null && QuantizationLowThreshold is null && QuantizationHighThreshold is null;

    /// <summary>Creates a copy.</summary>
    public QuickSilverPolicyOverrides Clone() => (QuickSilverPolicyOverrides)MemberwiseClone();
}
