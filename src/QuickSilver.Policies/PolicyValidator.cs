using System.Globalization;

namespace QuickSilver.Policies;

/// <summary>Checks every field of a <see cref="QuickSilverPolicy"/>; the first problem found is thrown as a <see cref="PolicyValidationException"/>.</summary>
/// <remarks>
/// Every field is checked whether or not its mechanism is enabled, so a policy that is switched on later is already known to be good.
/// Layer numbers are 1-based block counts ("after block ℓ"); their upper bound is only checked when the model depth is known.
/// </remarks>
internal static class PolicyValidator
{
    private static readonly int[] AllowedBits = [2, 4, 8];

    public static void Validate(QuickSilverPolicy policy, int? numLayers, int? vocabSize)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (numLayers is { } l)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(l, 1, nameof(numLayers));
        }

        if (vocabSize is { } v)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(v, 1, nameof(vocabSize));
        }

        if (string.IsNullOrWhiteSpace(policy.Name))
        {
            throw Fail("Name", "must be a non-empty name", policy.Name);
        }

        ValidateHalting(NotNull(policy.Halting, "Halting"), numLayers, vocabSize);
        ValidateKvSkip(NotNull(policy.KvSkip, "KvSkip"));
        ValidateFusion(NotNull(policy.Fusion, "Fusion"), numLayers);
        ValidateQuantization(NotNull(policy.Quantization, "Quantization"), numLayers);
        ValidateLexicons(NotNull(policy.Lexicons, "Lexicons"), vocabSize);
    }

    private static void ValidateHalting(HaltingPolicy halting, int? numLayers, int? vocabSize)
    {
        NonNegativeFinite(halting.DriftThreshold, "Halting.DriftThreshold");
        NonNegativeFinite(halting.EntropyThreshold, "Halting.EntropyThreshold");
        DefinedEnum(halting.DriftMode, "Halting.DriftMode");
        DefinedEnum(halting.EntropyMode, "Halting.EntropyMode");

        if (halting.MinLayer < 1)
        {
            throw Fail("Halting.MinLayer", "must be at least 1 (a token runs at least one block)", halting.MinLayer);
        }

        if (halting.WindowEnd is { } windowEnd)
        {
            Layer(windowEnd, "Halting.WindowEnd", numLayers);
            var minLayer = numLayers is { } l ? halting.ResolveMinLayer(l) : halting.MinLayer;
            if (windowEnd < minLayer)
            {
                throw Fail("Halting.WindowEnd", $"must not be below the effective minimum halting layer {minLayer}, or no token could ever halt", windowEnd);
            }
        }

        if (halting.ProxyTopK < 1)
        {
            throw Fail("Halting.ProxyTopK", "must be at least 1", halting.ProxyTopK);
        }

        // Only a policy that uses the proxy is bound by the vocabulary: defaults must stay valid for tiny vocabularies.
        if (vocabSize is { } v && halting.EntropyMode == EntropySignalMode.Proxy && halting.ProxyTopK > v)
        {
            throw Fail("Halting.ProxyTopK", $"must not exceed the vocabulary size {v}", halting.ProxyTopK);
        }

        var checkpoints = NotNull(halting.CheckpointLayers, "Halting.CheckpointLayers");
        if (halting.EntropyMode == EntropySignalMode.CheckpointLayers && checkpoints.Length == 0)
        {
            throw new PolicyValidationException(
                "Halting.CheckpointLayers",
                "Halting.CheckpointLayers must list at least one layer when Halting.EntropyMode is CheckpointLayers, but was empty.");
        }

        var seen = new HashSet<int>();
        for (var i = 0; i < checkpoints.Length; i++)
        {
            var field = $"Halting.CheckpointLayers[{i}]";
            Layer(checkpoints[i], field, numLayers);
            if (!seen.Add(checkpoints[i]))
            {
                throw Fail(field, "repeats a layer already listed", checkpoints[i]);
            }
        }
    }

    private static void ValidateKvSkip(KvSkipPolicy kv)
    {
        DefinedEnum(kv.Mode, "KvSkip.Mode");
        if (kv.HaltingDelay < 0)
        {
            throw Fail("KvSkip.HaltingDelay", "must be 0 or more layers", kv.HaltingDelay);
        }

        if (kv.AttentionThreshold is { } tau && !(tau is >= 0f and <= 1f))
        {
            throw Fail("KvSkip.AttentionThreshold", "must be an attention probability in [0, 1]", tau);
        }
    }

    private static void ValidateFusion(FusionPolicy fusion, int? numLayers)
    {
        NonNegativeFinite(fusion.DistanceThreshold, "Fusion.DistanceThreshold");
        DefinedEnum(fusion.Weighting, "Fusion.Weighting");
        if (fusion.AttentionSimilarityThreshold is { } sim && !(sim is >= -1f and <= 1f))
        {
            throw Fail("Fusion.AttentionSimilarityThreshold", "must be a cosine similarity in [-1, 1]", sim);
        }

        if (fusion.AttentionWindow < 1)
        {
            throw Fail("Fusion.AttentionWindow", "must be at least 1 position", fusion.AttentionWindow);
        }

        Layer(fusion.StartLayer, "Fusion.StartLayer", numLayers);
        if (fusion.StartDepthFraction is { } fraction && !(fraction is > 0f and <= 1f))
        {
            throw Fail("Fusion.StartDepthFraction", "must be a fraction of the model depth in (0, 1]", fraction);
        }
    }

    private static void ValidateQuantization(QuantizationPolicy q, int? numLayers)
    {
        DefinedEnum(q.Normalization, "Quantization.Normalization");
        NonNegativeFinite(q.LowThreshold, "Quantization.LowThreshold");
        NonNegativeFinite(q.HighThreshold, "Quantization.HighThreshold");
        if (q.Normalization != EntropyNormalization.None)
        {
            // Normalized entropy lives in [0, 1]; a larger threshold is almost always a raw-nats value (such as the paper's 2.3) used with the wrong normalization.
            if (q.LowThreshold > 1f)
            {
                throw Fail("Quantization.LowThreshold", $"must be in [0, 1] because Quantization.Normalization is {q.Normalization} (use None for thresholds in nats)", q.LowThreshold);
            }

            if (q.HighThreshold > 1f)
            {
                throw Fail("Quantization.HighThreshold", $"must be in [0, 1] because Quantization.Normalization is {q.Normalization} (use None for thresholds in nats)", q.HighThreshold);
            }
        }

        if (q.LowThreshold > q.HighThreshold)
        {
            throw Fail("Quantization.LowThreshold", $"must not exceed Quantization.HighThreshold ({Format(q.HighThreshold)}): the thresholds are inverted", q.LowThreshold);
        }

        Bits(q.LowBits, "Quantization.LowBits");
        Bits(q.MidBits, "Quantization.MidBits");
        Bits(q.HighBits, "Quantization.HighBits");
        if (q.LowBits > q.MidBits)
        {
            throw Fail("Quantization.MidBits", $"must be at least Quantization.LowBits ({q.LowBits}) so bits grow with entropy", q.MidBits);
        }

        if (q.MidBits > q.HighBits)
        {
            throw Fail("Quantization.HighBits", $"must be at least Quantization.MidBits ({q.MidBits}) so bits grow with entropy", q.HighBits);
        }

        if (q.GroupSize <= 0)
        {
            throw Fail("Quantization.GroupSize", "must be a positive number of elements", q.GroupSize);
        }

        if (q.QuantizeHead && !q.QuantizeWeights)
        {
            throw Fail("Quantization.QuantizeHead", "needs Quantization.QuantizeWeights (the head is read at a token's width only with the block weights)", q.QuantizeHead);
        }

        if (q.DecisionLayer is { } decision)
        {
            Layer(decision, "Quantization.DecisionLayer", numLayers);
        }

        if (q.RareTokenIdFraction is { } rare && !(rare is > 0f and <= 1f))
        {
            throw Fail("Quantization.RareTokenIdFraction", "must be a fraction of the vocabulary in (0, 1]", rare);
        }
    }

    private static void ValidateLexicons(TokenLexicons lexicons, int? vocabSize)
    {
        Words(lexicons.ForcedHalt, "Lexicons.ForcedHalt");
        Words(lexicons.FullProcessing, "Lexicons.FullProcessing");
        Words(lexicons.QuantizationOverride, "Lexicons.QuantizationOverride");
        Words(lexicons.ForcedRetention, "Lexicons.ForcedRetention");
        Ids(lexicons.ForcedHaltIds, "Lexicons.ForcedHaltIds", vocabSize);
        Ids(lexicons.FullProcessingIds, "Lexicons.FullProcessingIds", vocabSize);
        Ids(lexicons.QuantizationOverrideIds, "Lexicons.QuantizationOverrideIds", vocabSize);
        Ids(lexicons.ForcedRetentionIds, "Lexicons.ForcedRetentionIds", vocabSize);
    }

    private static void Words(List<string> words, string field)
    {
        NotNull(words, field);
        for (var i = 0; i < words.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(words[i]) || string.IsNullOrWhiteSpace(words[i].Trim().Trim('*')))
            {
                throw Fail($"{field}[{i}]", "must be a non-empty word or phrase (besides '*' wildcards)", words[i]);
            }
        }
    }

    private static void Ids(List<int> ids, string field, int? vocabSize)
    {
        NotNull(ids, field);
        for (var i = 0; i < ids.Count; i++)
        {
            if (ids[i] < 0)
            {
                throw Fail($"{field}[{i}]", "must be a token id of 0 or more", ids[i]);
            }

            if (vocabSize is { } v && ids[i] >= v)
            {
                throw Fail($"{field}[{i}]", $"must be below the vocabulary size {v}", ids[i]);
            }
        }
    }

    private static void Layer(int layer, string field, int? numLayers)
    {
        if (layer < 1)
        {
            throw Fail(field, "must be a layer number of at least 1 (layers count blocks done, from 1)", layer);
        }

        if (numLayers is { } l && layer > l)
        {
            throw Fail(field, $"must be a layer number in [1, {l}] for this {l}-layer model", layer);
        }
    }

    private static void Bits(int bits, string field)
    {
        if (Array.IndexOf(AllowedBits, bits) < 0)
        {
            throw Fail(field, "must be 2, 4 or 8 bits", bits);
        }
    }

    private static void NonNegativeFinite(float value, string field)
    {
        if (!float.IsFinite(value) || value < 0f)
        {
            throw Fail(field, "must be a finite number of 0 or more", value);
        }
    }

    private static void DefinedEnum<T>(T value, string field)
        where T : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            throw Fail(field, $"must be one of {string.Join(", ", Enum.GetNames<T>())}", value);
        }
    }

    private static T NotNull<T>(T? value, string field)
        where T : class =>
        value ?? throw new PolicyValidationException(field, $"{field} must not be null.");

    private static PolicyValidationException Fail(string field, string rule, object? value) =>
        new(field, $"{field} {rule}, but was {Format(value)}.");

    private static string Format(object? value) => value switch
    {
        null => "null",
        string s => $"\"{s}\"",
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "?",
    };
}
