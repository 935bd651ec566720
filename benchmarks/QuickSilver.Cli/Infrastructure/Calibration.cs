using QuickSilver.Engine;
using QuickSilver.Engine.Calibration;
using QuickSilver.Policies;
using QuickSilver.Policies.Calibration;

namespace QuickSilver.Cli.Infrastructure;

/// <summary>The calibration inputs: the text split into a recording part and a held-out sweep part when no held-out text is given.</summary>
internal sealed record CalibrationInputs(IReadOnlyList<int> CalibrationIds, IReadOnlyList<int> HeldOutIds, string HeldOutSource);

/// <summary>Runs the engine's calibration API (record → percentile thresholds → grid sweep on held-out text) for the CLI.</summary>
internal static class Calibration
{
    public static readonly string[] HaltingFields = [ThresholdFields.HaltingDrift, ThresholdFields.HaltingEntropy];

    /// <summary>Tokens of the calibration text; the held-out sweep text is a second file or else the second half of the first.</summary>
    public static CalibrationInputs Inputs(LanguageModel lm, string calibrationText, string? heldOutText, string? heldOutPath, int maxTokens)
    {
        var ids = lm.Tokenizer.Encode(calibrationText, addBos: true).Take(maxTokens).ToList();
        if (heldOutText is not null)
        {
            var held = lm.Tokenizer.Encode(heldOutText, addBos: true).Take(maxTokens).ToList();
            if (ids.Count < 2 || held.Count < 2) throw new CliException("The calibration and held-out texts need at least two tokens each.");
            return new CalibrationInputs(ids, held, heldOutPath ?? "held-out text");
        }
        if (ids.Count < 8) throw new CliException($"The calibration text has only {ids.Count} tokens; it needs enough to split into a recording half and a held-out half.");
        int half = ids.Count / 2;
        return new CalibrationInputs(ids.GetRange(0, half), ids.GetRange(half, ids.Count - half), "second half of the calibration text");
    }

    public static CalibrationResult Run(LanguageModel lm, CalibrationInputs inputs, QuickSilverPolicy basePolicy, IReadOnlyList<string> fields, int window,
        double lambda, double budget, IReadOnlyList<double>? factors, Reporter reporter)
    {
        int gridPoints = fields.Count == 0 ? 0 : (int)Math.Pow((factors ?? GridSweep.DefaultFactors).Count, fields.Count);
        return reporter.Task($"Calibrating ({inputs.CalibrationIds.Count} recording tokens, {gridPoints} grid points on {inputs.HeldOutIds.Count} held-out tokens)", gridPoints + 1, progress =>
        {
            int done = 0;
            try
            {
                return new PolicyCalibrator(lm).Calibrate(inputs.CalibrationIds, inputs.HeldOutIds, basePolicy, fields, window, null,
                    new GridSweepOptions { Lambda = lambda, PplBudget = budget }, factors, new Progress(() => progress(++done)));
            }
            catch (ArgumentException e)
            {
                throw new CliException($"Calibration settings rejected: {e.Message}", ExitCodes.UsageError, e);
            }
        });
    }

    /// <summary>Synchronous progress (System.Progress posts to the thread pool, which would reorder updates).</summary>
    private sealed class Progress(Action onReport) : IProgress<string>
    {
        public void Report(string value) => onReport();
    }
}
