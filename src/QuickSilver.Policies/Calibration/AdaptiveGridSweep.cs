namespace QuickSilver.Policies.Calibration;

/// <summary>
/// A <see cref="GridSweep"/> followed by finer grids around the leading point: each refinement takes the square root of
/// the previous step ratio per axis (×2 becomes ×√2, then ×2^¼), so a point between two coarse values is found when it
/// pays (issue 13: p25×1 was missed by the ×2 grid on BabyLlama). Points already evaluated are never evaluated again.
/// </summary>
/// <remarks>
/// Dense (every mechanism off) is always a candidate, with FLOPs reduction 0, perplexity change 0 and utility 0:
/// <see cref="GridSweepResult.Chosen"/> is null, meaning "off", unless a point within budget has positive utility.
/// </remarks>
public static class AdaptiveGridSweep
{
    /// <summary>Runs the coarse grid of <paramref name="axes"/>, then <paramref name="refinements"/> finer grids.</summary>
    /// <param name="basePolicy">The policy whose other settings every point keeps; not changed.</param>
    /// <param name="axes">The coarse axes.</param>
    /// <param name="evaluate">As for <see cref="GridSweep.Run"/>.</param>
    /// <param name="options">As for <see cref="GridSweep.Run"/>.</param>
    /// <param name="refinements">Finer rounds (0 is the plain grid).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="refinements"/> is negative.</exception>
    public static GridSweepResult Run(
        QuickSilverPolicy basePolicy,
        IReadOnlyList<GridAxis> axes,
        Func<QuickSilverPolicy, (double FlopsReduction, double PplRelativeIncrease)> evaluate,
        GridSweepOptions? options = null,
        int refinements = 2)
    {
        ArgumentNullException.ThrowIfNull(axes);
        ArgumentNullException.ThrowIfNull(evaluate);
        ArgumentOutOfRangeException.ThrowIfNegative(refinements);
        var memo = new Dictionary<string, (double, double)>();
        string Key(QuickSilverPolicy p) => string.Join("|", axes.Select(a => ThresholdFields.Get(p, a.Field)?.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        (double, double) Cached(QuickSilverPolicy p)
        {
            var key = Key(p);
            if (!memo.TryGetValue(key, out var value))
            {
                memo[key] = value = evaluate(p);
            }

            return value;
        }

        var coarse = GridSweep.Run(basePolicy, axes, Cached, options);
        var points = new Dictionary<string, GridPoint>();
        var rejected = new List<RejectedGridPoint>(coarse.Rejected);
        foreach (var p in coarse.Points)
        {
            points.TryAdd(Key(p.Policy), p);
        }

        var ratios = axes.Select(StepRatio).ToArray();
        for (var round = 0; round < refinements; round++)
        {
            var centre = Leading(points.Values);
            if (centre is null)
            {
                break;
            }

            var finer = new List<GridAxis>();
            for (var a = 0; a < axes.Count; a++)
            {
                ratios[a] = Math.Sqrt(ratios[a]);
                var c = centre.Values[axes[a].Field];
                finer.Add(new GridAxis(axes[a].Field, [(float)(c / ratios[a]), c, (float)(c * ratios[a])]));
            }

            var result = GridSweep.Run(basePolicy, finer, Cached, options);
            rejected.AddRange(result.Rejected);
            foreach (var p in result.Points)
            {
                points.TryAdd(Key(p.Policy), p);
            }
        }

        var all = points.Values.ToList();
        var front = GridSweep.MarkParetoFront(all);
        return new GridSweepResult
        {
            Lambda = coarse.Lambda,
            PplBudget = coarse.PplBudget,
            Points = all,
            Rejected = rejected,
            Best = all.Where(p => p.WithinBudget).OrderByDescending(p => p.Utility).ThenBy(p => p.PplRelativeIncrease).FirstOrDefault(),
            ParetoFront = front,
        };
    }

    /// <summary>The point to refine around: the best within budget, else the one with the least perplexity cost.</summary>
    private static GridPoint? Leading(IEnumerable<GridPoint> points) =>
        points.Where(p => p.WithinBudget).OrderByDescending(p => p.Utility).FirstOrDefault()
        ?? points.OrderBy(p => p.PplRelativeIncrease).FirstOrDefault();

    /// <summary>The smallest ratio between neighbouring values of one sign on an axis (2 for the default ×0.25..×4 grid).</summary>
    private static double StepRatio(GridAxis axis)
    {
        var magnitudes = axis.Values.Where(v => v != 0).Select(v => Math.Abs((double)v)).Distinct().Order().ToArray();
        double ratio = double.PositiveInfinity;
        for (var i = 1; i < magnitudes.Length; i++)
        {
            ratio = Math.Min(ratio, magnitudes[i] / magnitudes[i - 1]);
        }

        return double.IsFinite(ratio) && ratio > 1 ? ratio : 2;
    }
}
