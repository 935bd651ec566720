using System.Text.Json;
using QuickSilver.Policies;
using QuickSilver.Policies.Calibration;

namespace QuickSilver.Policies.Tests;

public sealed class GridSweepTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qs-sweep-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // (drift, entropy) → (FLOPs saved, relative PPL increase); U = 15·F − P:
    // (0.01,0.1) .10/.001 → 1.499   (0.01,0.2) .20/.004 → 2.996   (0.02,0.1) .25/.008 → 3.742 ← best within 1%
    // (0.02,0.2) .30/.020 → 4.480 (over budget)   (0.03,0.1) .22/.009 → 3.291 (dominated by (0.02,0.1))
    // (0.03,0.2) .35/.050 → 5.200 (over budget; best without a budget)
    private static readonly Dictionary<(float, float), (double, double)> Table = new()
    {
        [(0.01f, 0.1f)] = (0.10, 0.001),
        [(0.01f, 0.2f)] = (0.20, 0.004),
        [(0.02f, 0.1f)] = (0.25, 0.008),
        [(0.02f, 0.2f)] = (0.30, 0.020),
        [(0.03f, 0.1f)] = (0.22, 0.009),
        [(0.03f, 0.2f)] = (0.35, 0.050),
    };

    private static readonly GridAxis[] Axes =
    [
        new(ThresholdFields.HaltingDrift, [0.01f, 0.02f, 0.03f]),
        new(ThresholdFields.HaltingEntropy, [0.1f, 0.2f]),
    ];

    private static (double, double) Evaluate(QuickSilverPolicy p) => Table[(p.Halting.DriftThreshold, p.Halting.EntropyThreshold)];

    [Fact]
    public void Picks_the_highest_utility_within_the_budget()
    {
        var result = GridSweep.Run(QuickSilverPolicy.Safe(), Axes, Evaluate);
        Assert.NotNull(result.Best);
        Assert.Equal(0.02f, result.Best.Values[ThresholdFields.HaltingDrift]);
        Assert.Equal(0.1f, result.Best.Values[ThresholdFields.HaltingEntropy]);
        Assert.Equal(3.742, result.Best.Utility, 9);
        Assert.Equal(0.02f, result.Best.Policy.Halting.DriftThreshold);
        Assert.Equal(15.0, result.Lambda);
        Assert.Equal(0.01, result.PplBudget);
    }

    [Fact]
    public void Without_a_binding_budget_the_global_maximum_wins()
    {
        var result = GridSweep.Run(QuickSilverPolicy.Safe(), Axes, Evaluate, new GridSweepOptions { PplBudget = 1.0 });
        Assert.Equal((0.03f, 0.2f), (result.Best!.Values[ThresholdFields.HaltingDrift], result.Best.Values[ThresholdFields.HaltingEntropy]));
        Assert.Equal(5.2, result.Best.Utility, 9);
    }

    [Fact]
    public void Lambda_zero_minimizes_the_perplexity_cost()
    {
        var result = GridSweep.Run(QuickSilverPolicy.Safe(), Axes, Evaluate, new GridSweepOptions { Lambda = 0 });
        Assert.Equal(0.001, result.Best!.PplRelativeIncrease);
    }

    [Fact]
    public void Reports_every_point_in_grid_order_with_budget_flags()
    {
        var result = GridSweep.Run(QuickSilverPolicy.Safe(), Axes, Evaluate);
        Assert.Equal(6, result.Points.Count);
        Assert.Equal(
            [(0.01f, 0.1f), (0.01f, 0.2f), (0.02f, 0.1f), (0.02f, 0.2f), (0.03f, 0.1f), (0.03f, 0.2f)],
            result.Points.Select(p => (p.Values[ThresholdFields.HaltingDrift], p.Values[ThresholdFields.HaltingEntropy])));
        Assert.Equal([true, true, true, false, true, false], result.Points.Select(p => p.WithinBudget));
        Assert.Equal((15 * 0.22) - 0.009, result.Points[4].Utility, 12);
        Assert.Empty(result.Rejected);
    }

    [Fact]
    public void Pareto_front_excludes_dominated_points()
    {
        var result = GridSweep.Run(QuickSilverPolicy.Safe(), Axes, Evaluate);
        Assert.Equal([0.10, 0.20, 0.25, 0.30, 0.35], result.ParetoFront.Select(p => p.FlopsReduction));
        Assert.False(result.Points[4].OnParetoFront);
        Assert.Equal(5, result.Points.Count(p => p.OnParetoFront));
    }

    [Fact]
    public void No_point_within_budget_means_no_best()
    {
        var result = GridSweep.Run(QuickSilverPolicy.Safe(), Axes, Evaluate, new GridSweepOptions { PplBudget = 0.0005 });
        Assert.Null(result.Best);
        Assert.Equal(6, result.Points.Count);
    }

    [Fact]
    public void Invalid_combinations_are_skipped_and_reported()
    {
        GridAxis[] axes = [new(ThresholdFields.QuantizationLow, [1f, 3f]), new(ThresholdFields.QuantizationHigh, [2f])];
        var evaluated = 0;
        var result = GridSweep.Run(QuickSilverPolicy.Paper(), axes, _ => { evaluated++; return (0.1, 0.0); });
        Assert.Equal(1, evaluated);
        var rejected = Assert.Single(result.Rejected);
        Assert.Equal("Quantization.LowThreshold", rejected.Field);
        Assert.Equal(3f, rejected.Values[ThresholdFields.QuantizationLow]);
    }

    [Fact]
    public void The_base_policy_is_not_changed_and_points_keep_their_policies()
    {
        var basePolicy = QuickSilverPolicy.Safe();
        var result = GridSweep.Run(basePolicy, Axes, p => { var r = Evaluate(p); p.Halting.DriftThreshold = 99f; return r; });
        Assert.Equal(QuickSilverPolicy.Safe().Halting.DriftThreshold, basePolicy.Halting.DriftThreshold);
        Assert.Equal(0.01f, result.Points[0].Policy.Halting.DriftThreshold);
    }

    [Fact]
    public void Non_finite_results_are_rejected()
    {
        var e = Assert.Throws<CalibrationException>(() => GridSweep.Run(QuickSilverPolicy.Safe(), Axes, _ => (double.NaN, 0)));
        Assert.Contains(ThresholdFields.HaltingDrift, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_grids_are_rejected()
    {
        var safe = QuickSilverPolicy.Safe();
        Assert.Throws<ArgumentException>(() => GridSweep.Run(safe, [], Evaluate));
        Assert.Throws<ArgumentException>(() => GridSweep.Run(safe, [Axes[0], new GridAxis("halting.driftthreshold", [1f])], Evaluate));
        Assert.Throws<ArgumentException>(() => GridSweep.Run(safe, Axes, Evaluate, new GridSweepOptions { MaxPoints = 5 }));
        Assert.Throws<ArgumentException>(() => GridSweep.Run(safe, Axes, Evaluate, new GridSweepOptions { Lambda = double.NaN }));
        Assert.Throws<ArgumentException>(() => new GridAxis("Halting.MinLayer", [1f]));
        Assert.Throws<ArgumentException>(() => new GridAxis(ThresholdFields.HaltingDrift, []));
        Assert.Throws<ArgumentException>(() => new GridAxis(ThresholdFields.HaltingDrift, [float.NaN]));
    }

    [Fact]
    public void Multiplicative_axis_scales_the_center()
    {
        var axis = GridAxis.Multiplicative(ThresholdFields.FusionDistance, 0.2f);
        Assert.Equal([0.05f, 0.1f, 0.2f, 0.4f, 0.8f], axis.Values);
        Assert.Equal([0.5f, 1f], GridAxis.Multiplicative("fusion.distancethreshold", 1f, [0.5, 1]).Values);
    }

    [Fact]
    public void Axes_around_a_policy_use_its_current_values()
    {
        var axes = GridSweep.AxesAround(QuickSilverPolicy.Paper(), null, ThresholdFields.HaltingDrift, ThresholdFields.QuantizationHigh);
        Assert.Equal(0.045f * 4, axes[0].Values[^1], 1e-6f);
        Assert.Equal(2.3f * 0.25f, axes[1].Values[0], 1e-6f);
        Assert.Throws<ArgumentException>(() => GridSweep.AxesAround(QuickSilverPolicy.Paper(), null, ThresholdFields.KvAttention));
    }

    [Fact]
    public void Calibration_result_adopts_the_best_point_and_saves_policy_and_report()
    {
        var calibrated = new CalibrationResult(QuickSilverPolicy.Safe(), new CalibrationReport
        {
            NumLayers = 12,
            Thresholds = [new ThresholdChoice(ThresholdFields.HaltingDrift, 25, "empirical", [5, 6], 100, 0.02f)],
        });
        var swept = calibrated.WithSweep(GridSweep.Run(calibrated.Policy, Axes, Evaluate));
        Assert.Equal("calibrated", swept.Policy.Name);
        Assert.Equal(0.02f, swept.Policy.Halting.DriftThreshold);
        Assert.Equal(0.1f, swept.Policy.Halting.EntropyThreshold);

        var policyPath = Path.Combine(_dir, "policy.json");
        var reportPath = Path.Combine(_dir, "report.json");
        swept.Save(policyPath, reportPath);

        Assert.Equal(0.02f, PolicySerializer.Load(policyPath).Halting.DriftThreshold);
        using var report = JsonDocument.Parse(File.ReadAllText(reportPath));
        var root = report.RootElement;
        Assert.Equal(12, root.GetProperty("numLayers").GetInt32());
        Assert.Equal(25, root.GetProperty("thresholds")[0].GetProperty("percentile").GetDouble());
        var sweep = root.GetProperty("sweep");
        Assert.Equal(6, sweep.GetProperty("points").GetArrayLength());
        Assert.Equal(3.742, sweep.GetProperty("best").GetProperty("utility").GetDouble(), 9);
        Assert.False(sweep.GetProperty("points")[0].TryGetProperty("policy", out _));
    }

    [Fact]
    public void Without_a_best_point_the_calibrated_policy_is_kept()
    {
        var calibrated = new CalibrationResult(QuickSilverPolicy.Safe(), new CalibrationReport { NumLayers = 12, Thresholds = [] });
        var swept = calibrated.WithSweep(GridSweep.Run(calibrated.Policy, Axes, Evaluate, new GridSweepOptions { PplBudget = 0 }));
        Assert.Equal(QuickSilverPolicy.Safe().Halting.DriftThreshold, swept.Policy.Halting.DriftThreshold);
        Assert.NotNull(swept.Report.Sweep);
    }
}
