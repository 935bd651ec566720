namespace QuickSilver.Policies.Calibration;

/// <summary>How one threshold was chosen.</summary>
/// <param name="Field">The policy setting, such as "Halting.DriftThreshold".</param>
/// <param name="Percentile">The percentile taken.</param>
/// <param name="Method">"empirical" or "gaussian".</param>
/// <param name="Layers">The 1-based layers whose values were pooled.</param>
/// <param name="SampleCount">How many non-NaN values were pooled.</param>
/// <param name="Value">The threshold set.</param>
public sealed record ThresholdChoice(string Field, double Percentile, string Method, IReadOnlyList<int> Layers, int SampleCount, float Value);
