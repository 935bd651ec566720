namespace QuickSilver.Cli.Calibration;

/// <summary>numpy-style linear-interpolation percentile (local stand-in for the Policies library's Percentile until it lands on main).</summary>
internal static class Percentiles
{
    public static double Compute(IReadOnlyCollection<float> values, double p)
    {
        var sorted = values.Where(v => !float.IsNaN(v)).Select(v => (double)v).Order().ToArray();
        if (sorted.Length == 0) throw new ArgumentException("The sample has no values.", nameof(values));
        if (p is < 0 or > 100) throw new ArgumentOutOfRangeException(nameof(p), p, "A percentile must be in [0, 100].");
        double h = (sorted.Length - 1) * p / 100;
        int lo = (int)Math.Floor(h);
        if (lo >= sorted.Length - 1) return sorted[^1];
        return sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
    }
}
