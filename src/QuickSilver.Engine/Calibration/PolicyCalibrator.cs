using QuickSilver.Engine.Evaluation;
using QuickSilver.Engine.Models;
using QuickSilver.Policies;
using QuickSilver.Policies.Calibration;
using TorchSharp;

namespace QuickSilver.Engine.Calibration;

/// <summary>
/// Calibration (paper B.2, C.3, D.3, E.9): a dense run over calibration text records drift, entropy, maximum
/// attention received and adjacent distances per layer; thresholds are chosen by percentile; then a grid around
/// them is swept on held-out text, maximizing U = λ·ΔFLOPs − ΔPPL under a perplexity budget.
/// </summary>
public sealed class PolicyCalibrator
{
    private readonly LanguageModel _model;

    /// <summary>Creates a calibrator for <paramref name="model"/>.</summary>
    public PolicyCalibrator(LanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
    }

    /// <summary>
    /// Records the signal distributions of a dense run over <paramref name="ids"/>, in non-overlapping windows.
    /// Maximum attention is recorded for the tokens that would halt under the 25th-percentile drift and entropy
    /// thresholds (C.3 step 1: "for tokens marked as halted").
    /// </summary>
    public CalibrationRecord Record(IReadOnlyList<int> ids, int windowLength, DriftMode driftMode = DriftMode.Relative, bool relativeFusionDistance = true, double haltPercentile = 25, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count < 2) throw new ArgumentException("Calibration needs at least two tokens.", nameof(ids));
        ArgumentOutOfRangeException.ThrowIfLessThan(windowLength, 2);
        var transformer = _model.Transformer;
        int layers = transformer.Config.NumLayers;
        var record = new CalibrationRecord(layers) { DriftMode = driftMode, RelativeFusionDistance = relativeFusionDistance };
        var perToken = new List<(int Layer, float Drift, float Entropy, float MaxAttention)>();
        var runner = _model.Runner;
        var stats = new Runtime.RuntimeStats();

        for (int begin = 0; begin < ids.Count; begin += windowLength)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var window = ids.Skip(begin).Take(Math.Min(windowLength, transformer.Config.MaxPositions)).ToArray();
            if (window.Length < 2) break;
            using var scope = torch.NewDisposeScope();
            var positions = TensorScalars.Range(window.Length, torch.int64, transformer.Device);
            var h = transformer.Embed(torch.tensor(window.Select(x => (long)x).ToArray(), [1, window.Length], torch.int64, transformer.Device), positions);
            for (int l = 0; l < layers; l++)
            {
                var output = transformer.Blocks[l].Forward(new BlockInput { Hidden = h, Positions = positions, FirstPosition = 0, NeedMaxAttention = true });
                var next = output.Hidden;
                var drift = (next - h).norm(-1, false).squeeze(0);
                if (driftMode == DriftMode.Relative) drift = drift / TensorScalars.ClampedMin(h.norm(-1, false).squeeze(0), 1e-12);
                var entropy = runner.ExactEntropy(next, stats);
                var later = next.narrow(1, 1, window.Length - 1);
                var adjacent = (later - next.narrow(1, 0, window.Length - 1)).norm(-1, false).squeeze(0);
                if (relativeFusionDistance) adjacent = adjacent / TensorScalars.ClampedMin(later.norm(-1, false).squeeze(0), 1e-12);
                var d = drift.data<float>().ToArray();
                var e = entropy.data<float>().ToArray();
                // The causal relevance the runtime's τ_kv test reads: row i, column i of the running maximum (keys are the window's positions in order).
                var a = output.MaxAttention!.squeeze(0).diagonal().contiguous().data<float>().ToArray();
                foreach (float value in adjacent.data<float>().ToArray()) record.AddAdjacentDistance(l + 1, value);
                for (int i = 0; i < window.Length; i++)
                {
                    record.AddDrift(l + 1, d[i]);
                    record.AddEntropy(l + 1, e[i]);
                    perToken.Add((l + 1, d[i], e[i], a[i]));
                }
                h = next;
            }
        }

        var driftCut = Percentile.Compute([.. perToken.Select(p => p.Drift)], haltPercentile);
        var entropyCut = Percentile.Compute([.. perToken.Select(p => p.Entropy)], haltPercentile);
        foreach (var p in perToken)
            if (p.Drift < driftCut && p.Entropy < entropyCut) record.AddHaltedMaxAttention(p.Layer, p.MaxAttention);
        return record;
    }

    /// <summary>
    /// Full calibration: records on <paramref name="calibrationIds"/>, picks percentile thresholds for the mechanisms
    /// <paramref name="basePolicy"/> enables, then sweeps a multiplicative grid over <paramref name="sweepFields"/>
    /// on <paramref name="heldOutIds"/> (never the calibration text), refined <paramref name="refinements"/> times around the leading
    /// point (<see cref="AdaptiveGridSweep"/>). Dense is a candidate: when nothing within budget has positive utility, the result is off.
    /// </summary>
    public CalibrationResult Calibrate(IReadOnlyList<int> calibrationIds, IReadOnlyList<int> heldOutIds, QuickSilverPolicy basePolicy,
        IReadOnlyList<string> sweepFields, int windowLength = 256, CalibrationOptions? options = null, GridSweepOptions? sweepOptions = null,
        IReadOnlyList<double>? factors = null, IProgress<string>? progress = null, CancellationToken cancellationToken = default, int refinements = 2)
    {
        ArgumentNullException.ThrowIfNull(basePolicy);
        ArgumentNullException.ThrowIfNull(sweepFields);
        progress?.Report("recording signals");
        var record = Record(calibrationIds, windowLength, basePolicy.Halting.DriftMode, basePolicy.Fusion.RelativeDistance, options?.DriftPercentile ?? 25, cancellationToken);
        var calibrated = new ThresholdCalibrator(options).Calibrate(record, basePolicy);
        if (sweepFields.Count == 0) return calibrated;

        var evaluator = new PerplexityEvaluator(_model);
        int stride = windowLength;
        double densePpl = evaluator.EvaluateTokens(heldOutIds, windowLength, stride, null, cancellationToken).Perplexity;
        var axes = GridSweep.AxesAround(calibrated.Policy, factors, [.. sweepFields]);
        var sweepSettings = sweepOptions?.Clone() ?? new GridSweepOptions();
        sweepSettings.NumLayers ??= _model.Config.NumLayers;
        int done = 0;
        var sweep = AdaptiveGridSweep.Run(calibrated.Policy, axes, policy =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = evaluator.EvaluateTokens(heldOutIds, windowLength, stride, policy, cancellationToken);
            progress?.Report($"grid point {++done}");
            return (result.Stats.FlopsReduction, result.Perplexity / densePpl - 1);
        }, sweepSettings, refinements);
        var best = sweep.Chosen;
        var final = calibrated.WithSweep(sweep);
        var policy = calibrated.Policy.Clone();
        if (best is null)
        {
            // Dense is a candidate (U = 0): when no point within budget beats it, the honest answer is to switch the mechanisms off.
            policy.Name = "calibrated-dense";
            policy.Halting.Enabled = policy.Fusion.Enabled = policy.Quantization.Enabled = policy.KvSkip.Enabled = false;
            return new CalibrationResult(policy, final.Report);
        }
        foreach (var (field, value) in best.Values) ThresholdFields.Set(policy, field, value);
        return new CalibrationResult(policy, final.Report);
    }
}
