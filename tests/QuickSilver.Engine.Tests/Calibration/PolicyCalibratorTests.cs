using QuickSilver.Engine.Calibration;
using QuickSilver.Engine.Evaluation;
using QuickSilver.Policies;
using QuickSilver.Policies.Calibration;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Calibration;

public sealed class PolicyCalibratorTests
{
    private static QuickSilverPolicy Base() => new()
    {
        Name = "base",
        Halting = new HaltingPolicy { Enabled = true, DriftMode = DriftMode.Relative, EntropyMode = EntropySignalMode.Exact, MinLayer = 1 },
        KvSkip = new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip, AttentionThreshold = 0.5f },
        Fusion = new FusionPolicy { Enabled = true, DistanceThreshold = 0.1f, StartLayer = 2 },
    };

    [Fact]
    public void Recorded_distributions_give_the_percentile_thresholds()
    {
        using var model = LanguageModel.Load(SharedAssets.Stories260KBin);
        var ids = model.Tokenizer.Encode(File.ReadAllText(SharedAssets.TinyStoriesValid), addBos: true).Take(300).ToList();
        var record = new PolicyCalibrator(model).Record(ids, 150);
        Assert.Equal(5, record.NumLayers);
        Assert.All(Enumerable.Range(0, 5), l => Assert.Equal(300, record.Drift[l].Count));
        Assert.All(Enumerable.Range(0, 5), l => Assert.Equal(298, record.AdjacentDistance[l].Count)); // 149 pairs per window
        Assert.All(record.Entropy.SelectMany(x => x), e => Assert.InRange(e, 0f, (float)Math.Log(512) + 1e-3f));
        Assert.Contains(record.HaltedMaxAttention, l => l.Count > 0);

        var result = new ThresholdCalibrator().Calibrate(record, Base());
        int[] haltLayers = [1, 2, 3, 4];
        Assert.Equal((float)Percentile.Compute(record.Pool(record.Drift, haltLayers), 25), result.Policy.Halting.DriftThreshold, 5);
        Assert.Equal((float)Percentile.Compute(record.Pool(record.Entropy, haltLayers), 25), result.Policy.Halting.EntropyThreshold, 5);
        Assert.InRange(result.Policy.KvSkip.AttentionThreshold!.Value, 0f, 1f);
        Assert.True(result.Policy.Fusion.DistanceThreshold > 0);
    }

    [Fact]
    public void The_sweep_respects_the_perplexity_budget_on_held_out_text()
    {
        using var model = LanguageModel.Load(SharedAssets.Stories260KBin);
        var calibration = model.Tokenizer.Encode(File.ReadAllText(SharedAssets.TinyStoriesValid), addBos: true).Take(256).ToList();
        var heldOut = model.Tokenizer.Encode(File.ReadAllText(SharedAssets.TinyStoriesValid), addBos: true).Skip(4000).Take(256).ToList();
        var basePolicy = Base();
        basePolicy.Fusion.Enabled = false;
        var result = new PolicyCalibrator(model).Calibrate(calibration, heldOut, basePolicy,
            [ThresholdFields.HaltingDrift, ThresholdFields.HaltingEntropy], windowLength: 128,
            sweepOptions: new GridSweepOptions { PplBudget = 0.01 }, factors: [0.25, 1, 4]);
        Assert.NotNull(result.Report.Sweep);
        // The 3×3 coarse grid, then finer grids around the leading point (points already seen are not repeated).
        Assert.True(result.Report.Sweep!.Points.Count + result.Report.Sweep.Rejected.Count > 9);
        // Whatever the sweep chose, it really is within budget on the held-out text.
        var evaluator = new PerplexityEvaluator(model);
        double dense = evaluator.EvaluateTokens(heldOut, 128, 128).Perplexity;
        double chosen = evaluator.EvaluateTokens(heldOut, 128, 128, result.Policy).Perplexity;
        Assert.True(chosen / dense - 1 <= 0.01 + 1e-9, $"chosen policy costs {chosen / dense - 1:P2}");
        if (result.Report.Sweep.Best is { } best) Assert.True(best.WithinBudget);
        // Dense is a candidate: the mechanisms stay on only if a point beat it (positive utility).
        Assert.Equal(result.Report.Sweep.Chosen is null, result.Policy.Name == "calibrated-dense");
    }
}
