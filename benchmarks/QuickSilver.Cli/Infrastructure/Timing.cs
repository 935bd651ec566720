using System.Diagnostics;

namespace QuickSilver.Cli.Infrastructure;

/// <summary>Median, minimum and maximum of repeated measurements.</summary>
internal sealed record Summary(double Median, double Min, double Max, int Count)
{
    public static Summary Of(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return new Summary(double.NaN, double.NaN, double.NaN, 0);
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        return new Summary(median, sorted[0], sorted[^1], n);
    }

    public string Format(string unit = "", int digits = 3) =>
        Count == 0 ? "n/a" : $"{Median.ToString($"F{digits}")}{unit} [{Min.ToString($"F{digits}")}–{Max.ToString($"F{digits}")}]";
}

/// <summary>
/// Interleaved timing: every round runs each variant once, rotating the order, so slow drift of the machine
/// (other processes, thermal state) hits all variants alike. A warm-up round is discarded.
/// </summary>
internal static class Timing
{
    /// <summary>Seconds per run of each variant, [variant][round].</summary>
    public static double[][] Interleaved(int rounds, IReadOnlyList<Action> variants, Action<int>? onRound = null, int warmup = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        var samples = variants.Select(_ => new double[rounds]).ToArray();
        for (int w = 0; w < warmup; w++) foreach (var v in variants) v();
        for (int r = 0; r < rounds; r++)
        {
            for (int k = 0; k < variants.Count; k++)
            {
                int i = (k + r) % variants.Count;
                samples[i][r] = Seconds(variants[i]);
            }
            onRound?.Invoke(r + 1);
        }
        return samples;
    }

    public static double Seconds(Action action)
    {
        GC.Collect(0, GCCollectionMode.Forced, blocking: true);
        long start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    public static double SecondsNoGc(Action action)
    {
        long start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>Per-round ratios a[i]/b[i]: pairs measured back to back cancel drift better than ratios of medians.</summary>
    public static double[] Ratios(double[] a, double[] b) => a.Zip(b, (x, y) => x / y).ToArray();
}
