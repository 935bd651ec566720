using QuickSilver.Policies;

namespace QuickSilver.Extensions.AI.Policy;

/// <summary>Builds the effective policy: preset or file, then overrides, then extra lexicon entries.</summary>
internal static class PolicyComposer
{
    public static QuickSilverPolicy Compose(QuickSilverOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        QuickSilverPolicy policy = !string.IsNullOrWhiteSpace(options.PolicyPath)
            ? PolicyCatalog.Load(options.PolicyPath)
            : PolicyCatalog.FromPreset(options.Policy, nameof(QuickSilverOptions.Policy));
        Apply(policy, options.PolicyOverrides);
        MergeLexicons(policy.Lexicons, options.Lexicons);
        return policy;
    }

    public static void Apply(QuickSilverPolicy policy, QuickSilverPolicyOverrides overrides)
    {
        if (overrides.Halting is { } halting) policy.Halting.Enabled = halting;
        if (overrides.KvSkip is { } kvSkip) policy.KvSkip.Enabled = kvSkip;
        if (overrides.Fusion is { } fusion) policy.Fusion.Enabled = fusion;
        if (overrides.Quantization is { } quantization) policy.Quantization.Enabled = quantization;
        if (overrides.DriftThreshold is { } drift) policy.Halting.DriftThreshold = drift;
        if (overrides.EntropyThreshold is { } entropy) policy.Halting.EntropyThreshold = entropy;
        if (overrides.KvAttentionThreshold is { } kv) policy.KvSkip.AttentionThreshold = kv;
        if (overrides.FusionDistanceThreshold is { } fuse) policy.Fusion.DistanceThreshold = fuse;
        if (overrides.QuantizationLowThreshold is { } low) policy.Quantization.LowThreshold = low;
        if (overrides.QuantizationHighThreshold is { } high) policy.Quantization.HighThreshold = high;
        if (!overrides.IsEmpty && policy.Name is "dense" or "safe" or "paper")
        {
            policy.Name += "+overrides";
        }
    }

    public static void MergeLexicons(TokenLexicons target, TokenLexicons extra)
    {
        Add(target.ForcedHalt, extra.ForcedHalt);
        Add(target.FullProcessing, extra.FullProcessing);
        Add(target.QuantizationOverride, extra.QuantizationOverride);
        Add(target.ForcedHaltIds, extra.ForcedHaltIds);
        Add(target.FullProcessingIds, extra.FullProcessingIds);
        Add(target.QuantizationOverrideIds, extra.QuantizationOverrideIds);
        // ProtectNegations / ProtectJsonStructure stay as the policy (preset or file) sets them: these lists only add entries.

        static void Add<T>(List<T> to, List<T> from)
        {
            foreach (T item in from)
            {
                if (!to.Contains(item)) to.Add(item);
            }
        }
    }

    /// <summary>The problems with a set of overrides, each naming its setting (empty when valid).</summary>
    public static IEnumerable<string> Validate(QuickSilverPolicyOverrides overrides, string prefix)
    {
        foreach ((string name, float? value) in new (string, float?)[]
        {
            (nameof(QuickSilverPolicyOverrides.DriftThreshold), overrides.DriftThreshold),
            (nameof(QuickSilverPolicyOverrides.EntropyThreshold), overrides.EntropyThreshold),
            (nameof(QuickSilverPolicyOverrides.KvAttentionThreshold), overrides.KvAttentionThreshold),
            (nameof(QuickSilverPolicyOverrides.FusionDistanceThreshold), overrides.FusionDistanceThreshold),
            (nameof(QuickSilverPolicyOverrides.QuantizationLowThreshold), overrides.QuantizationLowThreshold),
            (nameof(QuickSilverPolicyOverrides.QuantizationHighThreshold), overrides.QuantizationHighThreshold),
        })
        {
            if (value is { } v && (!float.IsFinite(v) || v < 0))
            {
                yield return $"{prefix}{name} must be a finite, non-negative number (got {v}).";
            }
        }
        if (overrides.QuantizationLowThreshold is { } lo && overrides.QuantizationHighThreshold is { } hi && lo > hi)
        {
            yield return $"{prefix}{nameof(QuickSilverPolicyOverrides.QuantizationLowThreshold)} ({lo}) must not exceed {prefix}{nameof(QuickSilverPolicyOverrides.QuantizationHighThreshold)} ({hi}).";
        }
    }
}
