using System.CommandLine;
using System.Globalization;
using System.Text;
using QuickSilver.Cli.Calibration;
using QuickSilver.Cli.Infrastructure;

namespace QuickSilver.Cli.Commands;

internal static class CalibrateCommand
{
    public static Command Create(CommandContext context)
    {
        var outOption = CommonOptions.Out("calibrate");
        var threads = CommonOptions.Threads();
        var model = CommonOptions.Model(true);
        var text = new Option<string?>("--text", "-t") { Description = "Calibration text (keep it apart from any evaluation text).", Required = true };
        var window = new Option<int>("--window") { Description = "Window length.", DefaultValueFactory = _ => 256 };
        var stride = new Option<int>("--stride") { Description = "Window stride.", DefaultValueFactory = _ => 128 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Calibration tokens used.", DefaultValueFactory = _ => 2048 };
        var lambda = new Option<double>("--lambda") { Description = "λ in U = λ·ΔFLOPs − ΔPPL (paper: 15).", DefaultValueFactory = _ => 15.0 };
        var budget = new Option<double>("--ppl-budget") { Description = "Largest relative perplexity increase allowed (0.01 = 1%).", DefaultValueFactory = _ => 0.01 };
        var percentiles = new Option<string>("--percentiles") { Description = "Comma-separated percentiles of drift and entropy to sweep.", DefaultValueFactory = _ => string.Join(",", OperatingPointSearch.DefaultPercentiles) };
        var policyOut = new Option<string?>("--policy-out") { Description = "Where to write the calibrated policy JSON (default: <out>/policy.json)." };
        var command = new Command("calibrate", "Calibration text → policy JSON: percentile thresholds from recorded drift/entropy, grid sweep, utility U = λ·ΔFLOPs − ΔPPL within a perplexity budget.")
        {
            outOption, threads, model, text, window, stride, maxTokens, lambda, budget, percentiles, policyOut,
        };
        command.SetAction(parse => context.Execute(() =>
        {
            int w = parse.GetValue(window), s = parse.GetValue(stride), max = parse.GetValue(maxTokens);
            PplCommand.CheckWindow(w, s, max);
            double l = parse.GetValue(lambda), b = parse.GetValue(budget);
            if (!(l >= 0) || double.IsInfinity(l)) throw new CliException($"--lambda must be a non-negative number (got {l}).");
            if (!(b >= 0) || double.IsInfinity(b)) throw new CliException($"--ppl-budget must be a non-negative number (got {b}).");
            var qs = ParsePercentiles(parse.GetValue(percentiles)!);
            string modelSpec = parse.GetValue(model)!;
            ModelLoader.Check(modelSpec);
            string textPath = parse.GetValue(text)!;
            string content = TextInput.Read(textPath, "--text");
            var folder = OutputFolder.Prepare(parse.GetValue(outOption)!);
            string policyPath = parse.GetValue(policyOut) ?? folder.File("policy.json");
            int n = CommonOptions.ResolveThreads(parse.GetValue(threads));
            using var lm = context.Reporter.Task($"Loading {modelSpec}", 1, _ => ModelLoader.Load(modelSpec, n));
            if (w > lm.Config.MaxPositions) throw new CliException($"--window {w} exceeds the model's context of {lm.Config.MaxPositions} tokens.");
            var ids = lm.Tokenizer.Encode(content, addBos: true).Take(max).ToList();
            if (ids.Count < 2) throw new CliException($"Text '{textPath}' has fewer than two tokens.");
            var outcome = OperatingPointSearch.Run(lm, ids, w, s, l, b, qs, context.Reporter);
            var markdown = Render(outcome, modelSpec, textPath, policyPath);
            var (md, js) = folder.WriteReport("calibrate", markdown, outcome);
            context.Output.WriteLine(markdown);
            if (outcome.Best is null)
            {
                context.Error.WriteLine($"error: no swept point stays within the {b:P1} perplexity budget; no policy written. Try lower --percentiles.");
                return ExitCodes.Failure;
            }
            File.WriteAllText(policyPath, PolicyCatalog.ToJson(outcome.Best.Policy));
            context.Output.WriteLine($"Results: {md}, {js}; policy: {policyPath}");
            return ExitCodes.Success;
        }));
        return command;
    }

    public static double[] ParsePercentiles(string text)
    {
        var values = new List<double>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v is < 0 or > 100)
                throw new CliException($"--percentiles: '{part}' is not a percentile in [0, 100].");
            values.Add(v);
        }
        if (values.Count == 0) throw new CliException("--percentiles lists no value.");
        return [.. values.Distinct()];
    }

    public static string Render(CalibrationOutcome o, string model, string text, string policyPath)
    {
        static string F(double v, int d) => v.ToString($"F{d}", CultureInfo.InvariantCulture);
        var sb = new StringBuilder("# Calibration\n\n");
        sb.AppendLine($"Model `{model}`, calibration text `{text}` ({o.CalibrationTokens} tokens). Halting (relative drift, drift-gated exact entropy) with KV skipping, minimum depth {o.MinLayer} of {o.NumLayers}. Dense perplexity {F(o.DensePerplexity, 4)}. λ = {o.Lambda}, budget ΔPPL ≤ {o.PplBudget:P1}.").AppendLine();
        sb.AppendLine("Thresholds are percentiles of the signals recorded with nothing halting (layers from the minimum depth on): drift " +
            string.Join(", ", o.DriftPercentiles.Select(kv => $"{kv.Key} = {F(kv.Value, 4)}")) + "; entropy (nats) " + string.Join(", ", o.EntropyPercentiles.Select(kv => $"{kv.Key} = {F(kv.Value, 4)}")) + ".").AppendLine();
        sb.AppendLine("| point | τ_drift | τ_halt | PPL | ΔPPL | FLOPs reduction (router incl.) | U | within budget |").AppendLine("|---|---:|---:|---:|---:|---:|---:|:---:|");
        foreach (var p in o.Points)
            sb.AppendLine($"| {(ReferenceEquals(p, o.Best) ? "**" + p.Label + "**" : p.Label)} | {F(p.DriftThreshold, 4)} | {F(p.EntropyThreshold, 4)} | {F(p.Perplexity, 4)} | {F(p.DeltaPpl * 100, 2)}% | {F(p.FlopsReduction * 100, 2)}% | {F(p.Utility, 3)} | {(p.WithinBudget ? "yes" : "no")} |");
        sb.AppendLine();
        sb.AppendLine(o.Best is null ? "No point stays within the budget." : $"Chosen: **{o.Best.Label}** → `{policyPath}`.");
        sb.AppendLine().AppendLine("The thresholds are computed by the CLI (percentiles with numpy's linear interpolation); fusion and quantization thresholds are not calibrated here.");
        return sb.ToString();
    }
}
