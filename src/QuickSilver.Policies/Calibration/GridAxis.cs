namespace QuickSilver.Policies.Calibration;

/// <summary>One threshold a <see cref="GridSweep"/> varies and the candidate values it tries.</summary>
public sealed class GridAxis
{
    /// <summary>Creates an axis.</summary>
    /// <param name="field">A name from <see cref="ThresholdFields.All"/> (case-insensitive).</param>
    /// <param name="values">The candidates, tried in this order; each must be finite.</param>
    /// <exception cref="ArgumentException">The field cannot be swept, there is no candidate, or a candidate is not finite.</exception>
    public GridAxis(string field, IEnumerable<float> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        Field = ThresholdFields.Canonical(field);
        float[] candidates = [.. values.Distinct()];
        if (candidates.Length == 0)
        {
            throw new ArgumentException($"The axis for {Field} has no candidate value.", nameof(values));
        }

        foreach (var value in candidates)
        {
            if (!float.IsFinite(value))
            {
                throw new ArgumentException($"The axis for {Field} has a non-finite candidate ({value}).", nameof(values));
            }
        }

        Values = candidates;
    }

    /// <summary>The threshold's dotted name, such as "Halting.DriftThreshold".</summary>
    public string Field { get; }

    /// <summary>The distinct candidate values.</summary>
    public IReadOnlyList<float> Values { get; }

    /// <summary>An axis of <paramref name="center"/> times each factor (the paper's "grid around this percentile", B.2).</summary>
    /// <param name="field">A name from <see cref="ThresholdFields.All"/>.</param>
    /// <param name="center">The percentile choice.</param>
    /// <param name="factors">Multipliers; null means <see cref="GridSweep.DefaultFactors"/> (×0.25, ×0.5, ×1, ×2, ×4).</param>
    public static GridAxis Multiplicative(string field, float center, IEnumerable<double>? factors = null)
    {
        if (!float.IsFinite(center))
        {
            throw new ArgumentException($"The center of the axis for {field} must be finite, but was {center}.", nameof(center));
        }

        return new GridAxis(field, (factors ?? GridSweep.DefaultFactors).Select(f => (float)(center * f)));
    }
}
