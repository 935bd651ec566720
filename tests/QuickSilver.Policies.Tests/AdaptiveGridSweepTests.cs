using QuickSilver.Policies;
using QuickSilver.Policies.Calibration;

namespace QuickSilver.Policies.Tests;

public sealed class AdaptiveGridSweepTests
{
    [Fact]
    public void Dense_is_chosen_when_no_point_has_positive_utility()
    {
        // Every point saves a little and costs more: the least-negative point is not worth taking (issue 13: −0.03% FLOPs).
        var axes = new[] { GridAxis.Multiplicative(ThresholdFields.HaltingDrift, 0.1f) };
        var result = AdaptiveGridSweep.Run(QuickSilverPolicy.Safe(), axes, _ => (-0.0003, 0.001));
        Assert.NotNull(result.Best);
        Assert.Null(result.Chosen);
    }

    [Fact]
    public void Finer_rounds_find_a_point_between_the_coarse_values()
    {
        // Utility peaks at drift 0.1·√2, between the ×1 and ×2 coarse values; perplexity stays within budget.
        double peak = 0.1 * Math.Sqrt(2);
        (double, double) Evaluate(QuickSilverPolicy p)
        {
            double distance = Math.Abs(Math.Log(p.Halting.DriftThreshold / peak));
            return (0.05 - (0.03 * distance), 0.001);
        }

        var axes = new[] { GridAxis.Multiplicative(ThresholdFields.HaltingDrift, 0.1f) };
        var coarse = GridSweep.Run(QuickSilverPolicy.Safe(), axes, Evaluate);
        var fine = AdaptiveGridSweep.Run(QuickSilverPolicy.Safe(), axes, Evaluate, refinements: 1);
        Assert.Equal(5, coarse.Points.Count);
        Assert.Equal(peak, fine.Chosen!.Values[ThresholdFields.HaltingDrift], 5);
        Assert.True(fine.Chosen.Utility > coarse.Best!.Utility);
        Assert.Equal(7, fine.Points.Count); // 5 coarse + 2 new (the centre is not evaluated twice)
    }
}
