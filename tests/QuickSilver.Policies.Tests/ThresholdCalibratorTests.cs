using QuickSilver.Policies;
using QuickSilver.Policies.Calibration;

namespace QuickSilver.Policies.Tests;

public class ThresholdCalibratorTests
{
    /// <summary>0, 1e-4, ..., 1: 10001 evenly spaced points whose p-th percentile is exactly p/100.</summary>
    private static IEnumerable<float> Uniform(float scale = 1f) => Enumerable.Range(0, 10001).Select(i => scale * i / 10000f);

    private static QuickSilverPolicy AllOn()
    {
        var p = QuickSilverPolicy.Paper();
        p.KvSkip.AttentionThreshold = 0.5f;
        return p;
    }

    private static CalibrationRecord FullRecord(int layers)
    {
        var record = new CalibrationRecord(layers);
        foreach (var v in Uniform())
        {
            record.AddDrift(6, v);
            record.AddHaltedMaxAttention(6, v);
            record.AddAdjacentDistance(layers / 2, v);
        }

        foreach (var v in Uniform(4f))
        {
            record.AddEntropy(6, v);
            record.AddEntropy(layers / 2, v);
        }

        return record;
    }

    [Fact]
    public void Drift_and_entropy_thresholds_are_the_25th_percentiles()
    {
        var result = new ThresholdCalibrator().Calibrate(FullRecord(12), AllOn());
        Assert.Equal(0.25f, result.Policy.Halting.DriftThreshold, 1e-3f);
        Assert.Equal(1.0f, result.Policy.Halting.EntropyThreshold, 1e-3f);
        Assert.Equal("calibrated", result.Policy.Name);
    }

    [Fact]
    public void Only_the_halting_window_is_pooled()
    {
        var record = FullRecord(12);
        for (var i = 0; i < 50_000; i++)
        {
            record.AddDrift(2, 100f); // layer 2 is below MinLayer 5: never a halting layer
            record.AddDrift(12, 100f); // the last layer cannot halt
        }

        var result = new ThresholdCalibrator().Calibrate(record, AllOn());
        Assert.Equal(0.25f, result.Policy.Halting.DriftThreshold, 1e-3f);
        var choice = Assert.Single(result.Report.Thresholds, t => t.Field == ThresholdFields.HaltingDrift);
        Assert.Equal([5, 6, 7, 8, 9, 10, 11], choice.Layers);
        Assert.Equal(10001, choice.SampleCount);
    }

    [Fact]
    public void Explicit_halting_layers_override_the_window()
    {
        var record = FullRecord(12);
        record.AddDrift(2, 100f);
        record.AddEntropy(2, 0.5f);
        var options = new CalibrationOptions { HaltingLayers = [2] };
        var result = new ThresholdCalibrator(options).Calibrate(record, AllOn());
        Assert.Equal(100f, result.Policy.Halting.DriftThreshold);
        Assert.Equal(0.5f, result.Policy.Halting.EntropyThreshold);
    }

    [Fact]
    public void Kv_threshold_uses_a_gaussian_fit_by_default()
    {
        // Uniform[0,1] has μ = 0.5, σ = 1/√12: μ + 1.6449σ = 0.97483, well apart from the empirical 0.95.
        var result = new ThresholdCalibrator().Calibrate(FullRecord(12), AllOn());
        Assert.Equal(0.97483f, result.Policy.KvSkip.AttentionThreshold!.Value, 1e-3f);
        Assert.Equal("gaussian", Assert.Single(result.Report.Thresholds, t => t.Field == ThresholdFields.KvAttention).Method);
    }

    [Fact]
    public void Kv_threshold_can_be_the_empirical_percentile()
    {
        var options = new CalibrationOptions { KvMethod = KvThresholdMethod.Empirical };
        var result = new ThresholdCalibrator(options).Calibrate(FullRecord(12), AllOn());
        Assert.Equal(0.95f, result.Policy.KvSkip.AttentionThreshold!.Value, 1e-3f);
    }

    [Fact]
    public void Kv_gaussian_fit_on_normal_attention()
    {
        var record = new CalibrationRecord(12);
        foreach (var v in GaussianFitTests.NormalSamples(20_000, 0.02, 0.005, seed: 7))
        {
            record.AddHaltedMaxAttention(8, v);
        }

        var policy = QuickSilverPolicy.Dense();
        var result = new ThresholdCalibrator().Calibrate(record, policy);
        Assert.Equal(0.02f + (1.6449f * 0.005f), result.Policy.KvSkip.AttentionThreshold!.Value, 5e-4f);
    }

    [Fact]
    public void Kv_threshold_is_clamped_to_a_probability()
    {
        var record = new CalibrationRecord(4);
        foreach (var v in new[] { 0.2f, 1f, 1f, 1f, 1f, 0.1f })
        {
            record.AddHaltedMaxAttention(2, v);
        }

        var result = new ThresholdCalibrator().Calibrate(record, QuickSilverPolicy.Dense());
        Assert.Equal(1f, result.Policy.KvSkip.AttentionThreshold);
    }

    [Fact]
    public void Fusion_threshold_is_the_15th_percentile_of_the_default_fusion_layers()
    {
        var record = new CalibrationRecord(30);
        var values = Uniform().ToArray();
        for (var i = 0; i < values.Length; i++)
        {
            record.AddAdjacentDistance(new[] { 10, 15, 20 }[i % 3], values[i]);
            record.AddAdjacentDistance(5, 0f); // not a fusion layer
        }

        record.RelativeFusionDistance = false;
        var policy = QuickSilverPolicy.Dense();
        policy.Fusion.Enabled = true;
        var result = new ThresholdCalibrator().Calibrate(record, policy);
        Assert.Equal(0.15f, result.Policy.Fusion.DistanceThreshold, 1e-3f);
        Assert.False(result.Policy.Fusion.RelativeDistance);
    }

    [Theory]
    [InlineData(30, new[] { 10, 15, 20 })]
    [InlineData(12, new[] { 4, 6, 8 })]
    [InlineData(5, new[] { 2, 3 })]
    [InlineData(1, new[] { 1 })]
    public void Default_fusion_layers_are_a_third_half_and_two_thirds(int layers, int[] expected) =>
        Assert.Equal(expected, ThresholdCalibrator.DefaultFusionLayers(layers));

    [Fact]
    public void Quantization_thresholds_come_from_the_decision_layer_in_nats()
    {
        var result = new ThresholdCalibrator().Calibrate(FullRecord(12), AllOn());
        Assert.Equal(EntropyNormalization.None, result.Policy.Quantization.Normalization);
        Assert.Equal(4f * 0.30f, result.Policy.Quantization.LowThreshold, 1e-3f);
        Assert.Equal(4f * 0.60f, result.Policy.Quantization.HighThreshold, 1e-3f);
        Assert.Equal([6], Assert.Single(result.Report.Thresholds, t => t.Field == ThresholdFields.QuantizationLow).Layers);
    }

    [Fact]
    public void Drift_mode_follows_the_record()
    {
        var record = FullRecord(12);
        record.DriftMode = DriftMode.Absolute;
        var basePolicy = QuickSilverPolicy.Safe();
        Assert.Equal(DriftMode.Relative, basePolicy.Halting.DriftMode);
        Assert.Equal(DriftMode.Absolute, new ThresholdCalibrator().Calibrate(record, basePolicy).Policy.Halting.DriftMode);
    }

    [Fact]
    public void The_base_policy_is_not_changed()
    {
        var basePolicy = AllOn();
        var before = PolicySerializer.ToJson(basePolicy);
        _ = new ThresholdCalibrator().Calibrate(FullRecord(12), basePolicy);
        Assert.Equal(before, PolicySerializer.ToJson(basePolicy));
    }

    [Theory]
    [InlineData("halting", ThresholdFields.HaltingDrift)]
    [InlineData("fusion", ThresholdFields.FusionDistance)]
    [InlineData("quantization", ThresholdFields.QuantizationLow)]
    [InlineData("kv", ThresholdFields.KvAttention)]
    public void An_enabled_mechanism_without_data_fails(string mechanism, string field)
    {
        var policy = QuickSilverPolicy.Dense();
        switch (mechanism)
        {
            case "halting": policy.Halting.Enabled = true; break;
            case "fusion": policy.Fusion.Enabled = true; break;
            case "quantization": policy.Quantization.Enabled = true; break;
            default: policy.KvSkip.Enabled = true; policy.KvSkip.AttentionThreshold = 0.1f; break;
        }

        var e = Assert.Throws<CalibrationException>(() => new ThresholdCalibrator().Calibrate(new CalibrationRecord(12), policy));
        Assert.Equal(field, e.Field);
        Assert.Contains(field, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_disabled_mechanism_without_data_keeps_its_thresholds()
    {
        var policy = QuickSilverPolicy.Dense();
        policy.Fusion.DistanceThreshold = 0.42f;
        var result = new ThresholdCalibrator().Calibrate(new CalibrationRecord(12), policy);
        Assert.Equal(0.42f, result.Policy.Fusion.DistanceThreshold);
        Assert.Empty(result.Report.Thresholds);
    }

    [Theory]
    [InlineData(nameof(CalibrationOptions.DriftPercentile), 120.0)]
    [InlineData(nameof(CalibrationOptions.EntropyPercentile), -1.0)]
    [InlineData(nameof(CalibrationOptions.KvPercentile), 100.0)]
    [InlineData(nameof(CalibrationOptions.FusionPercentile), double.NaN)]
    [InlineData(nameof(CalibrationOptions.QuantizationLowPercentile), 90.0)]
    public void Invalid_options_are_rejected(string option, double value)
    {
        var options = new CalibrationOptions();
        typeof(CalibrationOptions).GetProperty(option)!.SetValue(options, value);
        var e = Assert.Throws<CalibrationException>(() => new ThresholdCalibrator(options));
        Assert.Equal($"CalibrationOptions.{option}", e.Field);
    }

    [Fact]
    public void Configured_layers_outside_the_record_are_rejected()
    {
        var options = new CalibrationOptions { FusionLayers = [13] };
        var e = Assert.Throws<CalibrationException>(() => new ThresholdCalibrator(options).Calibrate(FullRecord(12), AllOn()));
        Assert.Equal("CalibrationOptions.FusionLayers", e.Field);
    }

    [Fact]
    public void Record_rejects_layers_outside_the_model()
    {
        var record = new CalibrationRecord(4);
        Assert.Throws<ArgumentOutOfRangeException>(() => record.AddDrift(0, 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => record.AddEntropy(5, 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CalibrationRecord(0));
    }
}
