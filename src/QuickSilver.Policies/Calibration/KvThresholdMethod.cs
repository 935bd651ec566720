namespace QuickSilver.Policies.Calibration;

/// <summary>How τ_kv is read off the distribution of the maximum attention halted tokens receive.</summary>
public enum KvThresholdMethod
{
    /// <summary>Fit a Gaussian and take its percentile, μ + z·σ (paper C.3: "fit a Gaussian ... choose the 95th percentile").</summary>
    Gaussian,
    /// <summary>The empirical percentile of the recorded values.</summary>
    Empirical,
}
