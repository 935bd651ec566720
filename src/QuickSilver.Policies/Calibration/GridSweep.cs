namespace QuickSilver.Policies.Calibration;

/// <summary>Searches a grid of thresholds around the calibrated percentiles for the best FLOPs/perplexity trade-off (paper B.2 step 3, E.9).</summary>
/// <remarks>
/// The callback evaluates a policy and returns (flopsReduction, pplRelativeIncrease): the fraction of dense FLOPs saved (positive = cheaper) and
/// (PPL_policy − PPL_dense)/PPL_dense (positive = worse). The best point maximizes U = λ·flopsReduction − pplRelativeIncrease subject to
/// pplRelativeIncrease ≤ budget.
/// </remarks>
public static class GridSweep
{
    /// <summary>The default multiplicative grid: ×0.25, ×0.5, ×1, ×2, ×4.</summary>
    public static IReadOnlyList<double> DefaultFactors { get; } = [0.25, 0.5, 1, 2, 4];

    /// <summary>Multiplicative axes centred on the current values of <paramref name="fields"/> in <paramref name="policy"/>.</summary>
    /// <param name="policy">The calibrated policy.</param>
    /// <param name="factors">Multipliers; null means <see cref="DefaultFactors"/>.</param>
    /// <param name="fields">Names from <see cref="ThresholdFields.All"/>.</param>
    /// <exception cref="ArgumentException">A field is unsupported or off (null) in the policy.</exception>
    public static IReadOnlyList<GridAxis> AxesAround(QuickSilverPolicy policy, IEnumerable<double>? factors, params string[] fields)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(fields);
        var list = factors?.ToArray();
        return [.. fields.Select(f => GridAxis.Multiplicative(
            f,
            ThresholdFields.Get(policy, f) ?? throw new ArgumentException($"{f} is off (null) in the policy, so there is no value to centre a grid on.", nameof(fields)),
            list))];
    }

    /// <summary>Evaluates every combination of the axes' values applied to a copy of <paramref name="basePolicy"/>.</summary>
    /// <param name="basePolicy">The policy whose other settings every point keeps; not changed.</param>
    /// <param name="axes">The thresholds to vary; each field at most once.</param>
    /// <param name="evaluate">Evaluates one policy; see the class remarks for the sign conventions.</param>
    /// <param name="options">λ, budget and limits; null means the defaults.</param>
    /// <exception cref="ArgumentException">No axis, a field repeated, the grid larger than <see cref="GridSweepOptions.MaxPoints"/>, or invalid options.</exception>
    /// <exception cref="CalibrationException">The callback returned a NaN or infinite value.</exception>
    public static GridSweepResult Run(
        QuickSilverPolicy basePolicy,
        IReadOnlyList<GridAxis> axes,
        Func<QuickSilverPolicy, (double FlopsReduction, double PplRelativeIncrease)> evaluate,
        GridSweepOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(basePolicy);
        ArgumentNullException.ThrowIfNull(axes);
        ArgumentNullException.ThrowIfNull(evaluate);
        options = options?.Clone() ?? new GridSweepOptions();
        CheckOptions(options);
        if (axes.Count == 0)
        {
            throw new ArgumentException("A grid sweep needs at least one axis.", nameof(axes));
        }

        if (axes.GroupBy(a => a.Field).FirstOrDefault(g => g.Count() > 1) is { } repeated)
        {
            throw new ArgumentException($"{repeated.Key} appears on more than one axis.", nameof(axes));
        }

        long total = 1;
        foreach (var axis in axes)
        {
            total *= axis.Values.Count;
            if (total > options.MaxPoints)
            {
                throw new ArgumentException($"The grid has more than {options.MaxPoints} combinations (GridSweepOptions.MaxPoints).", nameof(axes));
            }
        }

        var points = new List<GridPoint>();
        var rejected = new List<RejectedGridPoint>();
        var index = new int[axes.Count];
        for (var n = 0; n < total; n++)
        {
            var values = new Dictionary<string, float>(axes.Count);
            var policy = basePolicy.Clone();
            for (var a = 0; a < axes.Count; a++)
            {
                var value = axes[a].Values[index[a]];
                values[axes[a].Field] = value;
                ThresholdFields.Set(policy, axes[a].Field, value);
            }

            try
            {
                policy.Validate(options.NumLayers);
                points.Add(Evaluate(policy, values, evaluate, options));
            }
            catch (PolicyValidationException e)
            {
                rejected.Add(new RejectedGridPoint(values, e.Field, e.Message));
            }

            // Odometer increment: the last axis varies fastest.
            for (var a = axes.Count - 1; a >= 0; a--)
            {
                if (++index[a] < axes[a].Values.Count)
                {
                    break;
                }

                index[a] = 0;
            }
        }

        var front = MarkParetoFront(points);
        var best = points
            .Where(p => p.WithinBudget)
            .OrderByDescending(p => p.Utility)
            .ThenBy(p => p.PplRelativeIncrease)
            .FirstOrDefault();
        return new GridSweepResult
        {
            Lambda = options.Lambda,
            PplBudget = options.PplBudget,
            Points = points,
            Rejected = rejected,
            Best = best,
            ParetoFront = front,
        };
    }

    private static GridPoint Evaluate(
        QuickSilverPolicy policy,
        Dictionary<string, float> values,
        Func<QuickSilverPolicy, (double FlopsReduction, double PplRelativeIncrease)> evaluate,
        GridSweepOptions options)
    {
        // The callback gets its own copy so it cannot alter the point's recorded policy.
        var (flops, ppl) = evaluate(policy.Clone());
        if (!double.IsFinite(flops) || !double.IsFinite(ppl))
        {
            var at = string.Join(", ", values.Select(kv => $"{kv.Key}={kv.Value}"));
            throw new CalibrationException("evaluate", $"The evaluation callback returned flopsReduction={flops}, pplRelativeIncrease={ppl} at {at}; both must be finite.");
        }

        return new GridPoint(values, flops, ppl, options.Lambda, options.PplBudget, policy);
    }

    internal static List<GridPoint> MarkParetoFront(List<GridPoint> points)
    {
        var front = new List<GridPoint>();
        foreach (var p in points)
        {
            var dominated = points.Any(q =>
                q.FlopsReduction >= p.FlopsReduction && q.PplRelativeIncrease <= p.PplRelativeIncrease
                && (q.FlopsReduction > p.FlopsReduction || q.PplRelativeIncrease < p.PplRelativeIncrease));
            p.OnParetoFront = !dominated;
            if (!dominated)
            {
                front.Add(p);
            }
        }

        return [.. front.OrderBy(p => p.FlopsReduction).ThenBy(p => p.PplRelativeIncrease)];
    }

    private static void CheckOptions(GridSweepOptions options)
    {
        if (!double.IsFinite(options.Lambda) || options.Lambda < 0)
        {
            throw new ArgumentException($"GridSweepOptions.Lambda must be a finite number of 0 or more, but was {options.Lambda}.", nameof(options));
        }

        if (!double.IsFinite(options.PplBudget))
        {
            throw new ArgumentException($"GridSweepOptions.PplBudget must be finite, but was {options.PplBudget}.", nameof(options));
        }

        if (options.MaxPoints < 1)
        {
            throw new ArgumentException($"GridSweepOptions.MaxPoints must be at least 1, but was {options.MaxPoints}.", nameof(options));
        }

        if (options.NumLayers is < 1)
        {
            throw new ArgumentException($"GridSweepOptions.NumLayers must be at least 1, but was {options.NumLayers}.", nameof(options));
        }
    }
}
