using System.Globalization;
using System.Text;
using System.Text.Json;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine;
using QuickSilver.Engine.Evaluation;
using QuickSilver.Policies;
using QuickSilver.Policies.Calibration;

namespace QuickSilver.Cli.Bench;

/// <summary>One sweep point measured on the evaluation text.</summary>
internal sealed record HindsightRow(string Label, string Point, double Perplexity, double DeltaPpl, double FlopsReduction, double PaperFlopsReduction, double Utility, bool WithinBudget);

/// <summary>
/// The calibrated choice next to the best choice in hindsight: the sweep's Pareto points, re-measured on the evaluation
/// text. The choice was made on held-out calibration text; hindsight uses the evaluation text itself, so it is an upper
/// bound on what calibration could have picked, never a usable choice.
/// </summary>
internal static class HindsightComparison
{
    /// <summary>Measures the chosen point and the sweep's Pareto points of <paramref name="reportPath"/> (calibrate's calibrate.json, or a report saved by <c>CalibrationResult.Save</c>).</summary>
    public static IReadOnlyList<HindsightRow> Run(LanguageModel lm, IReadOnlyList<int> ids, int window, int stride, double densePpl,
        QuickSilverPolicy basis, string reportPath, Reporter reporter)
    {
        TextInput.Check(reportPath, "--sweep-report");
        using var document = Parse(reportPath);
        var root = document.RootElement;
        if (Find(root, "report") is { ValueKind: JsonValueKind.Object } report) root = report;
        if (Find(root, "sweep") is not { ValueKind: JsonValueKind.Object } sweep)
            throw new CliException($"--sweep-report '{reportPath}' has no \"sweep\": run calibrate with a sweep to get one.");
        double lambda = Require(sweep, "lambda", reportPath).GetDouble(), budget = Require(sweep, "pplBudget", reportPath).GetDouble();
        var chosen = Find(sweep, "chosen") is { ValueKind: JsonValueKind.Object } c ? Values(c) : null;
        var candidates = Require(sweep, "points", reportPath).EnumerateArray()
            .Where(p => Find(p, "onParetoFront")?.GetBoolean() == true).Select(Values).ToList();
        if (chosen is not null && !candidates.Any(v => Same(v, chosen))) candidates.Add(chosen);

        var evaluator = new PerplexityEvaluator(lm);
        var measured = new List<HindsightRow> { new("dense (off)", "off", densePpl, 0, 0, 0, 0, true) };
        foreach (var values in candidates)
        {
            var policy = basis.Clone();
            policy.Name = "sweep-point";
            foreach (var (field, value) in values)
            {
                ThresholdFields.Set(policy, field, value);
                Enable(policy, field);
            }
            var r = reporter.Task($"Sweep point {Describe(values)} on the evaluation text", 1, _ => evaluator.EvaluateTokens(ids, window, stride, policy));
            double delta = r.Perplexity / densePpl - 1;
            measured.Add(new("", Describe(values), r.Perplexity, delta, r.Stats.FlopsReduction, r.PaperStats.FlopsReduction,
                lambda * r.Stats.FlopsReduction - delta, delta <= budget));
        }

        var chosenRow = chosen is null ? measured[0] : measured.First(m => m.Point == Describe(chosen));
        var best = measured.Where(m => m.WithinBudget).OrderByDescending(m => m.Utility).First();
        return
        [
            chosenRow with { Label = "chosen on held-out calibration text" },
            best with { Label = "best in hindsight on the evaluation text (not a usable choice)" },
        ];
    }

    /// <summary>Markdown for the two rows.</summary>
    public static string Render(IReadOnlyList<HindsightRow> rows)
    {
        static string F(double v, int d) => double.IsFinite(v) ? v.ToString($"F{d}", CultureInfo.InvariantCulture) : "n/a";
        var sb = new StringBuilder("## Calibrated choice versus hindsight\n\n");
        sb.AppendLine("The sweep's Pareto points (and its choice) re-measured on the evaluation text; dense is a candidate with U = 0.").AppendLine();
        sb.AppendLine("| point | thresholds | PPL | ΔPPL | FLOPs reduction (every pass) | paper's accounting | U = 15·ΔFLOPs − ΔPPL |").AppendLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
            sb.AppendLine($"| {r.Label} | {r.Point} | {F(r.Perplexity, 4)} | {F(r.DeltaPpl * 100, 2)}% | {F(r.FlopsReduction * 100, 2)}% | {F(r.PaperFlopsReduction * 100, 2)}% | {F(r.Utility, 3)} |");
        return sb.ToString();
    }

    private static Dictionary<string, float> Values(JsonElement point) =>
        (Find(point, "values") ?? throw new CliException("A sweep point has no \"values\".")).EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetSingle());

    private static JsonDocument Parse(string path)
    {
        try { return JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new CliException($"--sweep-report '{path}' is not valid JSON: {e.Message}"); }
    }

    /// <summary>A property by its camelCase name or its snake_case form (the CLI writes snake_case, CalibrationResult.Save camelCase).</summary>
    private static JsonElement? Find(JsonElement element, string camel)
    {
        string snake = string.Concat(camel.Select(ch => char.IsUpper(ch) ? "_" + char.ToLowerInvariant(ch) : ch.ToString()));
        return element.TryGetProperty(camel, out var a) ? a : element.TryGetProperty(snake, out var b) ? b : null;
    }

    private static JsonElement Require(JsonElement element, string camel, string path) =>
        Find(element, camel) ?? throw new CliException($"--sweep-report '{path}': the sweep has no \"{camel}\".");

    private static bool Same(Dictionary<string, float> a, Dictionary<string, float> b) => a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);

    private static string Describe(Dictionary<string, float> values) =>
        string.Join(", ", values.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} = {kv.Value.ToString("G5", CultureInfo.InvariantCulture)}"));

    private static void Enable(QuickSilverPolicy policy, string field)
    {
        if (field.StartsWith("Halting.", StringComparison.Ordinal)) policy.Halting.Enabled = true;
        else if (field.StartsWith("Fusion.", StringComparison.Ordinal)) policy.Fusion.Enabled = true;
        else if (field.StartsWith("Quantization.", StringComparison.Ordinal)) policy.Quantization.Enabled = true;
        else if (field.StartsWith("KvSkip.", StringComparison.Ordinal)) { policy.KvSkip.Enabled = true; policy.Halting.Enabled = true; }
    }
}
