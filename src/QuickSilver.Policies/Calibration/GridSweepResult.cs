namespace QuickSilver.Policies.Calibration;

/// <summary>The outcome of a <see cref="GridSweep"/>: every evaluated point, the best within budget, and the Pareto front.</summary>
public sealed class GridSweepResult
{
    /// <summary>λ used for the utility.</summary>
    public required double Lambda { get; init; }

    /// <summary>The relative perplexity budget.</summary>
    public required double PplBudget { get; init; }

    /// <summary>Every evaluated point, in grid order (the first axis varies slowest).</summary>
    public required IReadOnlyList<GridPoint> Points { get; init; }

    /// <summary>Combinations skipped because their policy was invalid.</summary>
    public required IReadOnlyList<RejectedGridPoint> Rejected { get; init; }

    /// <summary>The point of highest utility among those within budget (ties: lower perplexity cost, then grid order); null when none is within budget.</summary>
    public GridPoint? Best { get; init; }

    /// <summary>
    /// The point to adopt, or null for "off": dense is always a candidate (FLOPs reduction 0, perplexity change 0, utility 0), so a
    /// point is chosen only when it is within budget and its utility is positive. Ties go to dense: it is exact.
    /// </summary>
    public GridPoint? Chosen => Best is { Utility: > 0 } best ? best : null;

    /// <summary>The non-dominated points (over all evaluated points, within budget or not), by increasing FLOPs reduction.</summary>
    public required IReadOnlyList<GridPoint> ParetoFront { get; init; }
}
