namespace QuickSilver.Policies.Calibration;

/// <summary>Settings of a <see cref="GridSweep"/>.</summary>
public sealed class GridSweepOptions
{
    /// <summary>λ in U = λ·ΔFLOPs − ΔPPL (paper E.9: 15).</summary>
    public double Lambda { get; set; } = 15.0;

    /// <summary>The largest relative perplexity increase a chosen point may have (0.01 = 1%).</summary>
    public double PplBudget { get; set; } = 0.01;

    /// <summary>When set, candidate policies are validated against this model depth.</summary>
    public int? NumLayers { get; set; }

    /// <summary>The largest number of combinations a sweep may have, guarding against an accidental combinatorial explosion.</summary>
    public int MaxPoints { get; set; } = 4096;

    /// <summary>Creates a copy.</summary>
    public GridSweepOptions Clone() => (GridSweepOptions)MemberwiseClone();
}
