namespace QuickSilver.Policies.Calibration;

/// <summary>A grid combination that was not evaluated because the policy it makes is invalid (for example τ_low above τ_high).</summary>
/// <param name="Values">The threshold values, by dotted name.</param>
/// <param name="Field">The setting validation rejected.</param>
/// <param name="Reason">The validation message.</param>
public sealed record RejectedGridPoint(IReadOnlyDictionary<string, float> Values, string Field, string Reason);
