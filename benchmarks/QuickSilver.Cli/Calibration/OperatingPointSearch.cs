using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine;
using QuickSilver.Engine.Evaluation;
using QuickSilver.Policies;

namespace QuickSilver.Cli.Calibration;

/// <summary>One evaluated policy of the sweep.</summary>
internal sealed record GridPoint(string Label, double DriftPercentile, double EntropyPercentile, float DriftThreshold, float EntropyThreshold,
    double Perplexity, double DeltaPpl, double FlopsReduction, double Utility, bool WithinBudget)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public QuickSilverPolicy Policy { get; init; } = new();
}

internal sealed class CalibrationOutcome
{
    public required int NumLayers { get; init; }
    public required int MinLayer { get; init; }
    public required int CalibrationTokens { get; init; }
    public required double DensePerplexity { get; init; }
    public required double Lambda { get; init; }
    public required double PplBudget { get; init; }
    public required IReadOnlyList<GridPoint> Points { get; init; }
    public GridPoint? Best { get; init; }
    public required Dictionary<string, double> DriftPercentiles { get; init; }
    public required Dictionary<string, double> EntropyPercentiles { get; init; }
}

/// <summary>
/// Calibration in the paper's manner: record drift and entropy on calibration text, turn percentiles into halting
/// thresholds, evaluate each combination's perplexity and FLOPs reduction (router cost included) on the same
/// calibration text, and keep the highest utility U = λ·ΔFLOPs − ΔPPL among points within the perplexity budget.
/// Local implementation: the Policies library's ThresholdCalibrator/GridSweep had not landed on main when this was written.
/// </summary>
internal static class OperatingPointSearch
{
    public static readonly double[] DefaultPercentiles = [2, 5, 10, 25, 50, 75];

    public static QuickSilverPolicy HaltingPolicy(int minLayer, float drift, float entropy, string name) => new()
    {
        Name = name,
        Halting = new HaltingPolicy
        {
            Enabled = true, MinLayer = minLayer, DriftMode = DriftMode.Relative, DriftThreshold = drift, EntropyThreshold = entropy, EntropyMode = EntropySignalMode.DriftGated,
        },
        KvSkip = new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip },
        Lexicons = new TokenLexicons { ProtectNegations = true, ProtectJsonStructure = false },
    };

    public static CalibrationOutcome Run(LanguageModel lm, IReadOnlyList<int> ids, int window, int stride, double lambda, double budget, IReadOnlyList<double> percentiles, Reporter reporter)
    {
        int layers = lm.Config.NumLayers;
        int minLayer = Math.Clamp((int)Math.Ceiling(layers / 3.0), 1, Math.Max(1, layers - 1));
        var record = reporter.Task($"Recording drift and entropy over {ids.Count} calibration tokens", 1, _ => SignalRecord.Record(lm, ids, window, DriftMode.Relative));
        var eligible = Enumerable.Range(minLayer, Math.Max(0, layers - minLayer)).ToArray();
        var drift = record.Pool(record.Drift, eligible);
        var entropy = record.Pool(record.Entropy, eligible);
        if (drift.Length == 0 || entropy.Length == 0) throw new CliException("The calibration text produced no drift/entropy values (is it long enough?).", ExitCodes.Failure);
        var evaluator = new PerplexityEvaluator(lm);
        double dense = reporter.Task("Dense perplexity on the calibration text", 1, _ => evaluator.EvaluateTokens(ids, window, stride).Perplexity);
        var points = new List<GridPoint>();
        reporter.Task("Grid sweep", percentiles.Count * percentiles.Count, progress =>
        {
            foreach (double qd in percentiles)
                foreach (double qe in percentiles)
                {
                    float td = (float)Percentiles.Compute(drift, qd), te = (float)Percentiles.Compute(entropy, qe);
                    var policy = HaltingPolicy(minLayer, td, te, "calibrated");
                    var r = evaluator.EvaluateTokens(ids, window, stride, policy);
                    double delta = r.Perplexity / dense - 1, flops = r.Stats.FlopsReduction;
                    points.Add(new GridPoint($"drift p{qd:F0}, entropy p{qe:F0}", qd, qe, td, te, r.Perplexity, delta, flops, lambda * flops - delta, delta <= budget) { Policy = policy });
                    progress(points.Count);
                }
        });
        var best = points.Where(p => p.WithinBudget).OrderByDescending(p => p.Utility).ThenBy(p => p.DeltaPpl).FirstOrDefault();
        return new CalibrationOutcome
        {
            NumLayers = layers, MinLayer = minLayer, CalibrationTokens = ids.Count, DensePerplexity = dense, Lambda = lambda, PplBudget = budget, Points = points, Best = best,
            DriftPercentiles = percentiles.ToDictionary(q => $"p{q:F0}", q => Percentiles.Compute(drift, q)),
            EntropyPercentiles = percentiles.ToDictionary(q => $"p{q:F0}", q => Percentiles.Compute(entropy, q)),
        };
    }
}
