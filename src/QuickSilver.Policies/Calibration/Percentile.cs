namespace QuickSilver.Policies.Calibration;

/// <summary>Empirical percentiles with numpy's default ("linear") interpolation.</summary>
public static class Percentile
{
    /// <summary>The <paramref name="p"/>-th percentile of <paramref name="values"/>, ignoring NaN (numpy <c>nanpercentile(values, p)</c>).</summary>
    /// <param name="values">The sample; NaN entries are dropped, infinities are kept.</param>
    /// <param name="p">The percentile in [0, 100].</param>
    /// <returns>With the n non-NaN values sorted as v₀ ≤ … ≤ vₙ₋₁ and h = (n−1)·p/100: v⌊h⌋ + (h−⌊h⌋)·(v⌊h⌋₊₁ − v⌊h⌋).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 100] or NaN.</exception>
    /// <exception cref="ArgumentException"><paramref name="values"/> has no non-NaN value.</exception>
    public static double Compute(ReadOnlySpan<float> values, double p)
    {
        CheckP(p, nameof(p));
        var sorted = SortedFinite(values, nameof(values));
        return OfSorted(sorted, p);
    }

    /// <summary>Several percentiles of the same sample, sorting it once.</summary>
    /// <param name="values">The sample; NaN entries are dropped.</param>
    /// <param name="ps">The percentiles, each in [0, 100].</param>
    /// <exception cref="ArgumentOutOfRangeException">A percentile is outside [0, 100] or NaN.</exception>
    /// <exception cref="ArgumentException"><paramref name="values"/> has no non-NaN value.</exception>
    public static double[] ComputeMany(ReadOnlySpan<float> values, ReadOnlySpan<double> ps)
    {
        foreach (var p in ps)
        {
            CheckP(p, nameof(ps));
        }

        var sorted = SortedFinite(values, nameof(values));
        var result = new double[ps.Length];
        for (var i = 0; i < ps.Length; i++)
        {
            result[i] = OfSorted(sorted, ps[i]);
        }

        return result;
    }

    private static double OfSorted(double[] sorted, double p)
    {
        var h = (sorted.Length - 1) * (p / 100.0);
        var lo = (int)Math.Floor(h);
        if (lo >= sorted.Length - 1)
        {
            return sorted[^1];
        }

        var fraction = h - lo;
        var a = sorted[lo];
        var b = sorted[lo + 1];

        // Equal neighbours (including equal infinities) need no interpolation, and a + 0·(∞−∞) would be NaN.
        return a == b || fraction == 0 ? a : a + (fraction * (b - a));
    }

    private static double[] SortedFinite(ReadOnlySpan<float> values, string paramName)
    {
        var count = 0;
        foreach (var v in values)
        {
            if (!float.IsNaN(v))
            {
                count++;
            }
        }

        if (count == 0)
        {
            throw new ArgumentException(values.IsEmpty ? "The sample is empty." : "The sample has only NaN values.", paramName);
        }

        var sorted = new double[count];
        var i = 0;
        foreach (var v in values)
        {
            if (!float.IsNaN(v))
            {
                sorted[i++] = v;
            }
        }

        Array.Sort(sorted);
        return sorted;
    }

    private static void CheckP(double p, string paramName)
    {
        if (!(p is >= 0 and <= 100))
        {
            throw new ArgumentOutOfRangeException(paramName, p, "A percentile must be in [0, 100].");
        }
    }
}
