using System.CommandLine;
using System.Globalization;
using System.Text;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Policies;
using QuickSilver.Policies.Calibration;

namespace QuickSilver.Cli.Commands;

internal static class CalibrateCommand
{
    public static Command Create(CommandContext context)
    {
        var outOption = CommonOptions.Out("calibrate");
        var threads = CommonOptions.Threads();
        var model = CommonOptions.Model(true);
        var text = new Option<string?>("--text", "-t") { Description = "Calibration text: signals are recorded on it (keep it apart from any evaluation text).", Required = true };
        var heldOut = new Option<string?>("--held-out-text") { Description = "Text the grid sweep measures perplexity on (default: the second half of --text; never the recording half)." };
        var basePolicy = new Option<string>("--base-policy") { Description = "Policy whose switches, modes and layers are kept (preset or JSON); its thresholds are calibrated.", DefaultValueFactory = _ => "safe" };
        var sweep = new Option<string>("--sweep") { Description = "Comma-separated thresholds to sweep around the percentile values ('none' to skip the sweep).", DefaultValueFactory = _ => string.Join(",", Calibration.HaltingFields) };
        var factors = new Option<string?>("--factors") { Description = "Comma-separated multipliers of each swept threshold (default 0.25,0.5,1,2,4)." };
        var window = new Option<int>("--window") { Description = "Window length.", DefaultValueFactory = _ => 256 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens used from each text.", DefaultValueFactory = _ => 4096 };
        var lambda = new Option<double>("--lambda") { Description = "λ in U = λ·ΔFLOPs − ΔPPL (paper: 15).", DefaultValueFactory = _ => 15.0 };
        var budget = new Option<double>("--ppl-budget") { Description = "Largest relative perplexity increase allowed (0.01 = 1%).", DefaultValueFactory = _ => 0.01 };
        var policyOut = new Option<string?>("--policy-out") { Description = "Where to write the calibrated policy JSON (default: <out>/policy.json)." };
        var command = new Command("calibrate", "Calibration text → policy JSON: percentile thresholds from recorded signals, grid sweep on held-out text, utility U = λ·ΔFLOPs − ΔPPL within a perplexity budget.")
        {
            outOption, threads, model, text, heldOut, basePolicy, sweep, factors, window, maxTokens, lambda, budget, policyOut,
        };
        command.SetAction(parse => context.Execute(() =>
        {
            int w = parse.GetValue(window), max = parse.GetValue(maxTokens);
            PplCommand.CheckWindow(w, w, max);
            double l = parse.GetValue(lambda), b = parse.GetValue(budget);
            if (!(l >= 0) || double.IsInfinity(l)) throw new CliException($"--lambda must be a non-negative number (got {l}).");
            if (!(b >= 0) || double.IsInfinity(b)) throw new CliException($"--ppl-budget must be a non-negative number (got {b}).");
            var fields = ParseFields(parse.GetValue(sweep)!);
            var factorList = parse.GetValue(factors) is { } f ? ParseNumbers(f, "--factors", positive: true) : null;
            string modelSpec = parse.GetValue(model)!;
            ModelLoader.Check(modelSpec);
            string textPath = parse.GetValue(text)!;
            string content = TextInput.Read(textPath, "--text");
            string? heldOutPath = parse.GetValue(heldOut);
            string? heldOutContent = heldOutPath is null ? null : TextInput.Read(heldOutPath, "--held-out-text");
            if (heldOutPath is not null && Path.GetFullPath(heldOutPath) == Path.GetFullPath(textPath))
                throw new CliException("--held-out-text must not be the calibration text itself.");
            var basis = PolicyCatalog.Resolve(parse.GetValue(basePolicy), "--base-policy");
            var folder = OutputFolder.Prepare(parse.GetValue(outOption)!);
            string policyPath = parse.GetValue(policyOut) ?? folder.File("policy.json");
            int n = CommonOptions.ResolveThreads(parse.GetValue(threads));
            using var lm = context.Reporter.Task($"Loading {modelSpec}", 1, _ => ModelLoader.Load(modelSpec, n));
            if (w > lm.Config.MaxPositions) throw new CliException($"--window {w} exceeds the model's context of {lm.Config.MaxPositions} tokens.");
            var inputs = Calibration.Inputs(lm, content, heldOutContent, heldOutPath, max);
            var result = Calibration.Run(lm, inputs, basis, fields, w, l, b, factorList, context.Reporter);
            var markdown = Render(result, modelSpec, textPath, inputs, policyPath);
            var (md, js) = folder.WriteReport("calibrate", markdown, new { Model = modelSpec, Text = textPath, HeldOut = inputs.HeldOutSource, Policy = policyPath, Report = result.Report });
            PolicySerializer.Save(result.Policy, policyPath);
            context.Output.WriteLine(markdown);
            context.Output.WriteLine($"Results: {md}, {js}; policy: {policyPath}");
            return ExitCodes.Success;
        }));
        return command;
    }

    public static string[] ParseFields(string text)
    {
        if (text.Trim().Equals("none", StringComparison.OrdinalIgnoreCase)) return [];
        var fields = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        try
        {
            return [.. fields.Select(ThresholdFields.Canonical).Distinct()];
        }
        catch (ArgumentException e)
        {
            throw new CliException($"--sweep: {e.Message}", ExitCodes.UsageError, e);
        }
    }

    public static double[] ParseNumbers(string text, string option, bool positive)
    {
        var values = new List<double>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v) || (positive && v <= 0))
                throw new CliException($"{option}: '{part}' is not a {(positive ? "positive " : "")}number.");
            values.Add(v);
        }
        if (values.Count == 0) throw new CliException($"{option} lists no value.");
        return [.. values];
    }

    public static string Render(CalibrationResult result, string model, string text, CalibrationInputs inputs, string policyPath)
    {
        static string F(double v, int d) => double.IsFinite(v) ? v.ToString($"F{d}", CultureInfo.InvariantCulture) : "n/a";
        var r = result.Report;
        var sb = new StringBuilder("# Calibration\n\n");
        sb.AppendLine($"Model `{model}`. Signals recorded on `{text}` ({inputs.CalibrationIds.Count} tokens); the sweep measured perplexity on the {inputs.HeldOutSource} ({inputs.HeldOutIds.Count} tokens).").AppendLine();
        sb.AppendLine("## Percentile thresholds").AppendLine();
        sb.AppendLine("| setting | percentile | method | layers | samples | value |").AppendLine("|---|---:|---|---|---:|---:|");
        foreach (var t in r.Thresholds)
            sb.AppendLine($"| {t.Field} | {F(t.Percentile, 1)} | {t.Method} | {string.Join(",", t.Layers)} | {t.SampleCount} | {F(t.Value, 5)} |");
        if (r.Sweep is { } s)
        {
            sb.AppendLine().AppendLine($"## Grid sweep (λ = {s.Lambda}, budget ΔPPL ≤ {s.PplBudget:P1})").AppendLine();
            var fields = s.Points.FirstOrDefault()?.Values.Keys.ToList() ?? [];
            sb.AppendLine($"| {string.Join(" | ", fields)} | FLOPs reduction (router incl.) | ΔPPL | U | within budget | Pareto |");
            sb.AppendLine($"|{string.Concat(fields.Select(_ => "---:|"))}---:|---:|---:|:---:|:---:|");
            foreach (var p in s.Points)
            {
                bool best = ReferenceEquals(p, s.Chosen);
                string cells = string.Join(" | ", fields.Select(f => F(p.Values[f], 5)));
                sb.AppendLine($"| {(best ? "**" + cells + "**" : cells)} | {F(p.FlopsReduction * 100, 2)}% | {F(p.PplRelativeIncrease * 100, 2)}% | {F(p.Utility, 3)} | {(p.WithinBudget ? "yes" : "no")} | {(p.OnParetoFront ? "•" : "")} |");
            }
            sb.AppendLine().AppendLine("Dense (every mechanism off) is always a candidate, with U = 0; the grid was refined around the leading point.").AppendLine();
            sb.AppendLine(s.Chosen is { } chosenPoint
                ? $"Chosen on the held-out calibration text: {string.Join(", ", chosenPoint.Values.Select(kv => $"{kv.Key} = {F(kv.Value, 5)}"))} (FLOPs reduction {F(chosenPoint.FlopsReduction * 100, 2)}%, ΔPPL {F(chosenPoint.PplRelativeIncrease * 100, 2)}%, U {F(chosenPoint.Utility, 3)})."
                : s.Best is null
                    ? "No point stayed within the budget: the chosen point is off, and the written policy switches the mechanisms off (calibrated-dense)."
                    : $"The best point within budget has U = {F(s.Best.Utility, 3)} ≤ 0, no better than dense: the chosen point is off (calibrated-dense).");
        }
        sb.AppendLine().AppendLine($"Policy `{result.Policy.Name}` written to `{policyPath}`.");
        return sb.ToString();
    }
}
