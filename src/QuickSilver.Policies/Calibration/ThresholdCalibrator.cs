namespace QuickSilver.Policies.Calibration;

/// <summary>Turns recorded signal distributions into initial thresholds by the paper's percentiles (B.2, C.3, D.3), before a <see cref="GridSweep"/> refines them.</summary>
/// <remarks>
/// A threshold is set whenever its distribution has data. When its mechanism is enabled in the base policy and there is no data, calibration fails
/// rather than leave an uncalibrated threshold in place. Drift and fusion-distance units follow the record (<see cref="CalibrationRecord.DriftMode"/>,
/// <see cref="CalibrationRecord.RelativeFusionDistance"/>); quantization thresholds are raw entropy in nats (<see cref="EntropyNormalization.None"/>).
/// </remarks>
public sealed class ThresholdCalibrator
{
    private readonly CalibrationOptions _options;

    /// <summary>Creates a calibrator.</summary>
    /// <param name="options">Percentiles and layers; null means the defaults.</param>
    public ThresholdCalibrator(CalibrationOptions? options = null)
    {
        _options = options?.Clone() ?? new CalibrationOptions();
        CheckPercentile(_options.DriftPercentile, nameof(CalibrationOptions.DriftPercentile), open: false);
        CheckPercentile(_options.EntropyPercentile, nameof(CalibrationOptions.EntropyPercentile), open: false);
        CheckPercentile(_options.KvPercentile, nameof(CalibrationOptions.KvPercentile), open: _options.KvMethod == KvThresholdMethod.Gaussian);
        CheckPercentile(_options.FusionPercentile, nameof(CalibrationOptions.FusionPercentile), open: false);
        CheckPercentile(_options.QuantizationLowPercentile, nameof(CalibrationOptions.QuantizationLowPercentile), open: false);
        CheckPercentile(_options.QuantizationHighPercentile, nameof(CalibrationOptions.QuantizationHighPercentile), open: false);
        if (_options.QuantizationLowPercentile > _options.QuantizationHighPercentile)
        {
            throw new CalibrationException(
                "CalibrationOptions.QuantizationLowPercentile",
                $"CalibrationOptions.QuantizationLowPercentile ({_options.QuantizationLowPercentile}) must not exceed QuantizationHighPercentile ({_options.QuantizationHighPercentile}).");
        }
    }

    /// <summary>Calibrates the thresholds of <paramref name="basePolicy"/> (which is not changed) from <paramref name="record"/>.</summary>
    /// <param name="record">The recorded distributions.</param>
    /// <param name="basePolicy">The policy whose switches, modes and layers are kept; its thresholds are replaced.</param>
    /// <returns>The calibrated policy (named "calibrated") and a report of every choice.</returns>
    /// <exception cref="CalibrationException">An enabled mechanism has no recorded data, or a configured layer is outside the record.</exception>
    /// <exception cref="PolicyValidationException">The base policy is invalid for the record's depth.</exception>
    public CalibrationResult Calibrate(CalibrationRecord record, QuickSilverPolicy basePolicy)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(basePolicy);
        var numLayers = record.NumLayers;
        basePolicy.Validate(numLayers);

        var policy = basePolicy.Clone();
        policy.Name = "calibrated";
        var choices = new List<ThresholdChoice>();

        var haltingLayers = Layers(_options.HaltingLayers, "CalibrationOptions.HaltingLayers", numLayers)
            ?? [.. Enumerable.Range(1, numLayers).Where(l => policy.Halting.IsHaltingLayer(l, numLayers))];
        policy.Halting.DriftMode = record.DriftMode;
        if (Empirical(record.Pool(record.Drift, haltingLayers), _options.DriftPercentile, ThresholdFields.HaltingDrift, haltingLayers, policy.Halting.Enabled) is { } drift)
        {
            policy.Halting.DriftThreshold = drift.Value;
            choices.Add(drift);
        }

        if (Empirical(record.Pool(record.Entropy, haltingLayers), _options.EntropyPercentile, ThresholdFields.HaltingEntropy, haltingLayers, policy.Halting.Enabled) is { } entropy)
        {
            policy.Halting.EntropyThreshold = entropy.Value;
            choices.Add(entropy);
        }

        int[] allLayers = [.. Enumerable.Range(1, numLayers)];
        var attention = record.Pool(record.HaltedMaxAttention, allLayers);
        var wantKv = policy.KvSkip.Enabled && policy.KvSkip.AttentionThreshold is not null;
        if (_options.KvMethod == KvThresholdMethod.Empirical)
        {
            if (Empirical(attention, _options.KvPercentile, ThresholdFields.KvAttention, allLayers, wantKv) is { } kv)
            {
                // An attention probability cannot exceed 1, whatever the tail of the sample.
                kv = kv with { Value = Math.Clamp(kv.Value, 0f, 1f) };
                policy.KvSkip.AttentionThreshold = kv.Value;
                choices.Add(kv);
            }
        }
        else if (CountFinite(attention) > 0)
        {
            var fit = GaussianFit.Fit(attention);
            var value = (float)Math.Clamp(fit.Percentile(_options.KvPercentile), 0, 1);
            policy.KvSkip.AttentionThreshold = value;
            choices.Add(new ThresholdChoice(ThresholdFields.KvAttention, _options.KvPercentile, "gaussian", allLayers, fit.Count, value));
        }
        else if (wantKv)
        {
            throw NoData(ThresholdFields.KvAttention, allLayers);
        }

        var fusionLayers = Layers(_options.FusionLayers, "CalibrationOptions.FusionLayers", numLayers) ?? DefaultFusionLayers(numLayers);
        policy.Fusion.RelativeDistance = record.RelativeFusionDistance;
        if (Empirical(record.Pool(record.AdjacentDistance, fusionLayers), _options.FusionPercentile, ThresholdFields.FusionDistance, fusionLayers, policy.Fusion.Enabled) is { } fuse)
        {
            policy.Fusion.DistanceThreshold = fuse.Value;
            choices.Add(fuse);
        }

        int[] decisionLayer = [policy.Quantization.ResolveDecisionLayer(numLayers)];
        var decisionEntropy = record.Pool(record.Entropy, decisionLayer);
        if (Empirical(decisionEntropy, _options.QuantizationLowPercentile, ThresholdFields.QuantizationLow, decisionLayer, policy.Quantization.Enabled) is { } low
            && Empirical(decisionEntropy, _options.QuantizationHighPercentile, ThresholdFields.QuantizationHigh, decisionLayer, policy.Quantization.Enabled) is { } high)
        {
            policy.Quantization.Normalization = EntropyNormalization.None;
            policy.Quantization.LowThreshold = low.Value;
            policy.Quantization.HighThreshold = high.Value;
            choices.Add(low);
            choices.Add(high);
        }

        policy.Validate(numLayers);
        return new CalibrationResult(policy, new CalibrationReport { NumLayers = numLayers, Thresholds = choices });
    }

    /// <summary>The layers nearest ⅓, ½ and ⅔ of the depth, without repeats (10, 15, 20 for 30 layers).</summary>
    /// <param name="numLayers">The model depth L.</param>
    public static int[] DefaultFusionLayers(int numLayers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numLayers, 1);
        return [.. new[] { 1.0 / 3, 0.5, 2.0 / 3 }
            .Select(f => Math.Clamp((int)Math.Round(f * numLayers, MidpointRounding.AwayFromZero), 1, numLayers))
            .Distinct()];
    }

    private static ThresholdChoice? Empirical(float[] values, double percentile, string field, int[] layers, bool required)
    {
        var count = CountFinite(values);
        if (count == 0)
        {
            return required ? throw NoData(field, layers) : null;
        }

        var value = (float)Percentile.Compute(values, percentile);
        return new ThresholdChoice(field, percentile, "empirical", layers, count, value);
    }

    private static int CountFinite(float[] values) => values.Count(v => !float.IsNaN(v));

    private static CalibrationException NoData(string field, int[] layers) =>
        new(field, $"{field} cannot be calibrated: the record has no values at layers [{string.Join(", ", layers)}], but the mechanism is enabled.");

    private static int[]? Layers(int[]? layers, string field, int numLayers)
    {
        if (layers is null)
        {
            return null;
        }

        foreach (var layer in layers)
        {
            if (layer < 1 || layer > numLayers)
            {
                throw new CalibrationException(field, $"{field} lists layer {layer}, outside [1, {numLayers}] of the record.");
            }
        }

        return layers;
    }

    private static void CheckPercentile(double p, string name, bool open)
    {
        var ok = open ? p is > 0 and < 100 : p is >= 0 and <= 100;
        if (!ok)
        {
            throw new CalibrationException(
                $"CalibrationOptions.{name}",
                $"CalibrationOptions.{name} must be in {(open ? "(0, 100)" : "[0, 100]")}, but was {p}.");
        }
    }
}
