namespace QuickSilver.Policies.Calibration;

/// <summary>The policy thresholds a <see cref="GridSweep"/> can vary, by dotted name.</summary>
public static class ThresholdFields
{
    /// <summary>"Halting.DriftThreshold" (τ_drift).</summary>
    public const string HaltingDrift = "Halting.DriftThreshold";

    /// <summary>"Halting.EntropyThreshold" (τ_halt).</summary>
    public const string HaltingEntropy = "Halting.EntropyThreshold";

    /// <summary>"KvSkip.AttentionThreshold" (τ_kv).</summary>
    public const string KvAttention = "KvSkip.AttentionThreshold";

    /// <summary>"Fusion.DistanceThreshold" (τ_fuse).</summary>
    public const string FusionDistance = "Fusion.DistanceThreshold";

    /// <summary>"Fusion.AttentionSimilarityThreshold" (τ_attn).</summary>
    public const string FusionAttentionSimilarity = "Fusion.AttentionSimilarityThreshold";

    /// <summary>"Quantization.LowThreshold" (τ_low).</summary>
    public const string QuantizationLow = "Quantization.LowThreshold";

    /// <summary>"Quantization.HighThreshold" (τ_high).</summary>
    public const string QuantizationHigh = "Quantization.HighThreshold";

    private static readonly Dictionary<string, (Func<QuickSilverPolicy, float?> Get, Action<QuickSilverPolicy, float> Set)> Accessors =
        new(StringComparer.OrdinalIgnoreCase)
        {
            [HaltingDrift] = (p => p.Halting.DriftThreshold, (p, v) => p.Halting.DriftThreshold = v),
            [HaltingEntropy] = (p => p.Halting.EntropyThreshold, (p, v) => p.Halting.EntropyThreshold = v),
            [KvAttention] = (p => p.KvSkip.AttentionThreshold, (p, v) => p.KvSkip.AttentionThreshold = v),
            [FusionDistance] = (p => p.Fusion.DistanceThreshold, (p, v) => p.Fusion.DistanceThreshold = v),
            [FusionAttentionSimilarity] = (p => p.Fusion.AttentionSimilarityThreshold, (p, v) => p.Fusion.AttentionSimilarityThreshold = v),
            [QuantizationLow] = (p => p.Quantization.LowThreshold, (p, v) => p.Quantization.LowThreshold = v),
            [QuantizationHigh] = (p => p.Quantization.HighThreshold, (p, v) => p.Quantization.HighThreshold = v),
        };

    /// <summary>Every supported name.</summary>
    public static IReadOnlyList<string> All { get; } =
        [HaltingDrift, HaltingEntropy, KvAttention, FusionDistance, FusionAttentionSimilarity, QuantizationLow, QuantizationHigh];

    /// <summary>Reads a threshold (null when an optional threshold is off).</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="field">A name from <see cref="All"/> (case-insensitive).</param>
    /// <exception cref="ArgumentException">The name is not supported.</exception>
    public static float? Get(QuickSilverPolicy policy, string field)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return Find(field).Get(policy);
    }

    /// <summary>Sets a threshold.</summary>
    /// <param name="policy">The policy to change.</param>
    /// <param name="field">A name from <see cref="All"/> (case-insensitive).</param>
    /// <param name="value">The value.</param>
    /// <exception cref="ArgumentException">The name is not supported.</exception>
    public static void Set(QuickSilverPolicy policy, string field, float value)
    {
        ArgumentNullException.ThrowIfNull(policy);
        Find(field).Set(policy, value);
    }

    /// <summary>The canonical spelling of a supported name.</summary>
    /// <param name="field">A name from <see cref="All"/> (case-insensitive).</param>
    /// <exception cref="ArgumentException">The name is not supported.</exception>
    public static string Canonical(string field)
    {
        Find(field);
        return All.First(f => string.Equals(f, field, StringComparison.OrdinalIgnoreCase));
    }

    private static (Func<QuickSilverPolicy, float?> Get, Action<QuickSilverPolicy, float> Set) Find(string field)
    {
        ArgumentNullException.ThrowIfNull(field);
        return Accessors.TryGetValue(field, out var accessor)
            ? accessor
            : throw new ArgumentException($"Threshold \"{field}\" cannot be swept; supported thresholds are {string.Join(", ", All)}.", nameof(field));
    }
}
