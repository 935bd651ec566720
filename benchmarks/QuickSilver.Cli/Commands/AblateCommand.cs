using System.CommandLine;
using System.Globalization;
using System.Text;
using QuickSilver.Cli.Bench;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine;
using QuickSilver.Engine.Evaluation;
using QuickSilver.Engine.Runtime;
using QuickSilver.Policies;

namespace QuickSilver.Cli.Commands;

/// <summary>One measured configuration of the ablation.</summary>
internal sealed record AblationRow(
    string Name, string Mechanisms, double Perplexity, double DeltaPpl, double FlopsReduction, double BetaWeightedReduction,
    Summary Speedup, long Tokens8Bit, long Tokens4Bit, long Tokens2Bit, long HaltedTokenLayers, long FusedTokenLayers, double KvBytesRatio,
    double PaperFlopsReduction = 0);

internal sealed class AblationReport
{
    public required string Model { get; init; }
    public required string EvalText { get; init; }
    public required string? CalibrationText { get; init; }
    public required string BasePolicy { get; init; }
    public required int Window { get; init; }
    public required int Stride { get; init; }
    public required int TimedTokens { get; init; }
    public required int Runs { get; init; }
    public required double DensePerplexity { get; init; }
    public required IReadOnlyList<AblationRow> Alone { get; init; }
    public required IReadOnlyList<AblationRow> Cumulative { get; init; }
    public required IReadOnlyList<AblationRow> Quantization { get; init; }
    public IReadOnlyList<HindsightRow>? Hindsight { get; set; }
}

/// <summary>Table 11 (each mechanism alone and the cumulative stack) and Table 3 (quantization strategies) on evaluation text.</summary>
internal static class AblateCommand
{
    public static Command Create(CommandContext context)
    {
        var outOption = CommonOptions.Out("ablate");
        var threads = CommonOptions.Threads();
        var model = CommonOptions.Model(true);
        var text = new Option<string?>("--text", "-t") { Description = "Evaluation text (must not be the text the policy was calibrated on).", Required = true };
        var calib = new Option<string?>("--calibration-text") { Description = "The text the policy was calibrated on, if any: checked to differ from --text." };
        var policy = new Option<string>("--policy", "-p") { Description = "Policy supplying each mechanism's thresholds: a preset or a policy JSON file.", DefaultValueFactory = _ => "paper" };
        var window = new Option<int>("--window") { Description = "Perplexity window.", DefaultValueFactory = _ => 256 };
        var stride = new Option<int>("--stride") { Description = "Perplexity stride.", DefaultValueFactory = _ => 128 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens of the evaluation text used.", DefaultValueFactory = _ => 4096 };
        var runs = new Option<int>("--runs") { Description = "Interleaved timing runs per row (median, min, max).", DefaultValueFactory = _ => 7 };
        var sweepReport = new Option<string?>("--sweep-report") { Description = "A calibrate report.json: its chosen point and Pareto points are re-measured on --text, the choice shown beside the best in hindsight." };
        var timedTokens = new Option<int>("--timed-tokens") { Description = "Prefill length of the timed passes (from the start of the evaluation text).", DefaultValueFactory = _ => 512 };
        var command = new Command("ablate", "Table 11 (dense, each mechanism alone, cumulative stack: speedup, FLOPs reduction with router cost, β-weighted FLOPs, ΔPPL) and Table 3 (quantization strategies).")
        {
            outOption, threads, model, text, calib, policy, window, stride, maxTokens, runs, timedTokens, sweepReport,
        };
        command.SetAction(parse => context.Execute(() =>
        {
            int w = parse.GetValue(window), s = parse.GetValue(stride), max = parse.GetValue(maxTokens), r = parse.GetValue(runs), timed = parse.GetValue(timedTokens);
            PplCommand.CheckWindow(w, s, max);
            CommonOptions.Positive(r, "--runs");
            if (timed < 2) throw new CliException($"--timed-tokens must be at least 2 (got {timed}).");
            string modelSpec = parse.GetValue(model)!;
            ModelLoader.Check(modelSpec);
            string textPath = parse.GetValue(text)!;
            string content = TextInput.Read(textPath, "--text");
            string? calibPath = parse.GetValue(calib);
            if (calibPath is not null)
            {
                TextInput.Check(calibPath, "--calibration-text");
                if (Path.GetFullPath(calibPath) == Path.GetFullPath(textPath) || File.ReadAllText(calibPath) == content)
                    throw new CliException("--text is the calibration text: ΔPPL must be measured on text the policy was not calibrated on.");
            }
            var basis = PolicyCatalog.Resolve(parse.GetValue(policy));
            var folder = OutputFolder.Prepare(parse.GetValue(outOption)!);
            int n = CommonOptions.ResolveThreads(parse.GetValue(threads));
            using var lm = context.Reporter.Task($"Loading {modelSpec}", 1, _ => ModelLoader.Load(modelSpec, n));
            if (w > lm.Config.MaxPositions) throw new CliException($"--window {w} exceeds the model's context of {lm.Config.MaxPositions} tokens.");
            var report = Run(lm, modelSpec, textPath, calibPath, content, basis, w, s, max, r, timed, context.Reporter);
            if (parse.GetValue(sweepReport) is { } sweepPath)
                report.Hindsight = HindsightComparison.Run(lm, lm.Tokenizer.Encode(content, addBos: true).Take(max).ToList(), w, s, report.DensePerplexity, basis, sweepPath, context.Reporter);
            var markdown = Render(report);
            var (md, js) = folder.WriteReport("ablate", markdown, report);
            context.Output.WriteLine(markdown);
            context.Output.WriteLine($"Results: {md}, {js}");
            return ExitCodes.Success;
        }));
        return command;
    }

    private static QuickSilverPolicy With(QuickSilverPolicy basis, string name, bool halting, bool kv, bool fusion, bool quantization)
    {
        var p = basis.Clone();
        p.Name = name;
        p.Halting.Enabled = halting;
        p.KvSkip.Enabled = kv;
        if (kv) p.KvSkip.Mode = KvSkipMode.Skip;
        p.Fusion.Enabled = fusion;
        p.Quantization.Enabled = quantization;
        return p;
    }

    public static IReadOnlyList<(string Name, string Mechanisms, QuickSilverPolicy Policy)> QuantizationStrategies(QuickSilverPolicy basis)
    {
        QuickSilverPolicy Q(string name, int low, int mid, int high)
        {
            var p = With(basis, name, false, false, false, true);
            p.Quantization.LowBits = low;
            p.Quantization.MidBits = mid;
            p.Quantization.HighBits = high;
            return p;
        }
        return
        [
            ("Full precision", "none", With(basis, "full-precision", false, false, false, false)),
            ("Uniform 8-bit", "8/8/8", Q("uniform-8", 8, 8, 8)),
            ("2/4/8 entropy-aware", "2/4/8", Q("entropy-2-4-8", 2, 4, 8)),
            ("4/8 only", "4/4/8", Q("entropy-4-8", 4, 4, 8)),
            ("2/4 aggressive", "2/4/4", Q("aggressive-2-4", 2, 4, 4)),
        ];
    }

    public static AblationReport Run(LanguageModel lm, string model, string textPath, string? calibPath, string text, QuickSilverPolicy basis,
        int window, int stride, int maxTokens, int runs, int timedTokens, Reporter reporter)
    {
        var ids = lm.Tokenizer.Encode(text, addBos: true).Take(maxTokens).ToList();
        if (ids.Count < 2) throw new CliException($"Text '{textPath}' has fewer than two tokens.");
        var timed = ids.Take(Math.Min(timedTokens, lm.Config.MaxPositions)).ToList();
        var evaluator = new PerplexityEvaluator(lm);
        double dense = reporter.Task("Dense perplexity", 1, _ => evaluator.EvaluateTokens(ids, window, stride).Perplexity);
        using var densePrefill = new Prefill(lm, timed);

        AblationRow Measure(string name, string mechanisms, QuickSilverPolicy policy)
        {
            return reporter.Task($"{name}", runs + 2, progress =>
            {
                var ppl = policy.IsDense ? null : evaluator.EvaluateTokens(ids, window, stride, policy);
                progress(1);
                var plan = policy.IsDense ? null : new RoutingPlan(policy, lm.Config);
                var (trace, stats, _, _) = TraceCommand.TracePass(lm, timed, policy);
                double beta = BetaFlops.Compute(trace, stats, lm.Transformer, plan);
                progress(2);
                Summary speedup;
                if (plan is null) speedup = new Summary(1, 1, 1, 0);
                else
                {
                    using var routed = new Prefill(lm, timed, plan, lm.ResolveProtectedIds(plan, null).FlagsFor(timed));
                    var t = Timing.Interleaved(runs, [() => densePrefill.Run(), () => routed.Run()], r => progress(2 + r));
                    speedup = Summary.Of(Timing.Ratios(t[0], t[1]));
                }
                var st = ppl?.Stats ?? new RuntimeStats();
                double perplexity = ppl?.Perplexity ?? dense;
                return new AblationRow(name, mechanisms, perplexity, perplexity / dense - 1, ppl is null ? 0 : st.FlopsReduction,
                    stats.DenseFlops > 0 ? 1 - beta / stats.DenseFlops : 0, speedup, st.Tokens8Bit, st.Tokens4Bit, st.Tokens2Bit, st.HaltedTokenLayers, st.FusedTokenLayers,
                    stats.DenseKvBytes > 0 ? stats.KvBytes / (double)stats.DenseKvBytes : 1, ppl is null ? 0 : ppl.PaperStats.FlopsReduction);
            });
        }

        var denseRow = Measure("Dense", "none", QuickSilverPolicy.Dense());
        var halting = Measure("Halting alone", "H", With(basis, "halting", true, false, false, false));
        var kv = Measure("+ KV skipping", "H+KV", With(basis, "halting+kv", true, true, false, false));
        var fusion = Measure("Fusion alone", "F", With(basis, "fusion", false, false, true, false));
        var quant = Measure("Quantization alone", "Q", With(basis, "quantization", false, false, false, true));
        var hkf = Measure("+ Fusion", "H+KV+F", With(basis, "halting+kv+fusion", true, true, true, false));
        var all = Measure("+ Quantization (full QuickSilver)", "H+KV+F+Q", With(basis, "all", true, true, true, true));
        var quantRows = QuantizationStrategies(basis).Select(q => q.Policy.Quantization.Enabled ? Measure(q.Name, q.Mechanisms, q.Policy) : denseRow with { Name = q.Name, Mechanisms = q.Mechanisms }).ToList();
        return new AblationReport
        {
            Model = model, EvalText = textPath, CalibrationText = calibPath, BasePolicy = basis.Name, Window = window, Stride = stride, TimedTokens = timed.Count, Runs = runs,
            DensePerplexity = dense,
            Alone = [denseRow, halting, kv with { Name = "KV skipping (on halted tokens, with halting)" }, fusion, quant],
            Cumulative = [denseRow, halting with { Name = "+ Halting" }, kv, hkf, all],
            Quantization = quantRows,
        };
    }

    public static string Render(AblationReport r)
    {
        static string F(double v, int d) => double.IsFinite(v) ? v.ToString($"F{d}", CultureInfo.InvariantCulture) : "n/a";
        static string Pct(double v) => F(v * 100, 2) + "%";
        var sb = new StringBuilder("# Ablation (Table 11) and quantization strategies (Table 3)\n\n");
        sb.AppendLine($"Model `{r.Model}`; evaluation text `{r.EvalText}`{(r.CalibrationText is null ? "" : $" (calibration text `{r.CalibrationText}` is a different file)")}; thresholds from policy `{r.BasePolicy}`. Dense perplexity {F(r.DensePerplexity, 4)} (window {r.Window}, stride {r.Stride}).").AppendLine();
        sb.AppendLine($"- **Speedup**: dense time / policy time of a {r.TimedTokens}-token prefill, {r.Runs} interleaved rounds, median [min–max].");
        sb.AppendLine("- **FLOPs reduction**: from the runtime's measured active-token counts over every pass the evaluation ran (including the prefix passes that re-score positions fusion made depend on later tokens), router cost (drift, logit-lens entropy, distances, propagation) included. **Paper's accounting**: the same without those prefix passes, as if absorbed tokens simply stopped.");
        sb.AppendLine("- **β-weighted FLOPs reduction** (paper's formula, separate): projection FLOPs after the decision layer weighted 1 / 0.5 / 0.25 for 8 / 4 / 2 bits, from a trace of the timed prefill. Our quantization is simulated (fake-quantized float32), so β-weighting is an accounting figure, not a time saving.");
        sb.AppendLine("- **ΔPPL**: relative perplexity change on the evaluation text.").AppendLine();
        void Table(string title, IEnumerable<AblationRow> rows)
        {
            sb.AppendLine($"## {title}").AppendLine();
            sb.AppendLine("| configuration | mechanisms | speedup median [min–max] | FLOPs reduction (measured, every pass, router incl.) | paper's accounting | β-weighted FLOPs reduction | PPL | ΔPPL | KV bytes / dense |");
            sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var x in rows)
                sb.AppendLine($"| {x.Name} | {x.Mechanisms} | {(x.Speedup.Count == 0 ? "1 (reference)" : $"{F(x.Speedup.Median, 3)} [{F(x.Speedup.Min, 3)}–{F(x.Speedup.Max, 3)}]")} | {Pct(x.FlopsReduction)} | {Pct(x.PaperFlopsReduction)} | {Pct(x.BetaWeightedReduction)} | {F(x.Perplexity, 4)} | {Pct(x.DeltaPpl)} | {F(x.KvBytesRatio, 3)} |");
            sb.AppendLine();
        }
        Table("Table 11a: each mechanism alone", r.Alone);
        Table("Table 11b: cumulative stack", r.Cumulative);
        sb.AppendLine("## Table 3: quantization strategies").AppendLine();
        sb.AppendLine("| strategy | bits (low/mid/high) | PPL | ΔPPL | tokens at 8 / 4 / 2 bits | β-weighted FLOPs reduction | speedup median [min–max] |").AppendLine("|---|---|---:|---:|---|---:|---:|");
        foreach (var x in r.Quantization)
            sb.AppendLine($"| {x.Name} | {x.Mechanisms} | {F(x.Perplexity, 4)} | {Pct(x.DeltaPpl)} | {x.Tokens8Bit} / {x.Tokens4Bit} / {x.Tokens2Bit} | {Pct(x.BetaWeightedReduction)} | {(x.Speedup.Count == 0 ? "1 (reference)" : $"{F(x.Speedup.Median, 3)} [{F(x.Speedup.Min, 3)}–{F(x.Speedup.Max, 3)}]")} |");
        if (r.Hindsight is { } hindsight) sb.AppendLine().Append(HindsightComparison.Render(hindsight));
        return sb.ToString();
    }
}
