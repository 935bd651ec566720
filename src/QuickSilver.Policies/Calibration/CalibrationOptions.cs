namespace QuickSilver.Policies.Calibration;

/// <summary>The percentiles and layers <see cref="ThresholdCalibrator"/> reads thresholds from. Defaults follow the paper where it gives one.</summary>
public sealed class CalibrationOptions
{
    /// <summary>Percentile of the drift distribution taken as τ_drift (paper B.2: 25).</summary>
    public double DriftPercentile { get; set; } = 25;

    /// <summary>Percentile of the entropy distribution taken as τ_halt (paper B.2: 25).</summary>
    public double EntropyPercentile { get; set; } = 25;

    /// <summary>Percentile of halted tokens' maximum attention taken as τ_kv (paper C.3: 95).</summary>
    public double KvPercentile { get; set; } = 95;

    /// <summary>Whether τ_kv comes from a Gaussian fit (the paper) or the empirical percentile.</summary>
    public KvThresholdMethod KvMethod { get; set; } = KvThresholdMethod.Gaussian;

    /// <summary>Percentile of adjacent-token distances taken as τ_fuse (paper D.3: 15).</summary>
    public double FusionPercentile { get; set; } = 15;

    /// <summary>Percentile of decision-layer entropy taken as τ_low. Our choice (the paper sweeps thresholds instead), so that about 30% of tokens get the low bit width.</summary>
    public double QuantizationLowPercentile { get; set; } = 30;

    /// <summary>Percentile of decision-layer entropy taken as τ_high. Our choice, so that about 40% of tokens keep 8 bits.</summary>
    public double QuantizationHighPercentile { get; set; } = 60;

    /// <summary>Layers whose drift and entropy are pooled; null means the halting window of the base policy, [ResolveMinLayer, ResolveWindowEnd].</summary>
    public int[]? HaltingLayers { get; set; }

    /// <summary>Layers whose adjacent distances are pooled; null means the layers nearest ⅓, ½ and ⅔ of the depth (the paper's 10, 15, 20 of 30).</summary>
    public int[]? FusionLayers { get; set; }

    /// <summary>Creates a deep copy.</summary>
    public CalibrationOptions Clone()
    {
        var copy = (CalibrationOptions)MemberwiseClone();
        copy.HaltingLayers = (int[]?)HaltingLayers?.Clone();
        copy.FusionLayers = (int[]?)FusionLayers?.Clone();
        return copy;
    }
}
