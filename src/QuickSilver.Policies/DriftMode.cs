namespace QuickSilver.Policies;

/// <summary>How layerwise drift is measured.</summary>
public enum DriftMode
{
    /// <summary>‖h(ℓ) − h(ℓ−1)‖₂ (the paper's definition).</summary>
    Absolute,
    /// <summary>‖h(ℓ) − h(ℓ−1)‖₂ / ‖h(ℓ−1)‖₂, comparable across models whose hidden scales differ.</summary>
    Relative,
}
