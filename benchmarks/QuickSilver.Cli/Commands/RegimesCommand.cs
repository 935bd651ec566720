using System.CommandLine;
using System.Globalization;
using System.Text;
using QuickSilver.Cli.Bench;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine;
using QuickSilver.Engine.Evaluation;
using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using QuickSilver.Policies;
using TorchSharp;

namespace QuickSilver.Cli.Commands;

/// <summary>One row of the regimes report.</summary>
internal sealed record RegimeRow(string Regime, string Setting, double? DeltaPplRelative, double? FlopsReduction, double? KvBytesRatio, double? TimeRatio, string Note);

/// <summary>
/// Where each mechanism pays: K/V precision (memory), fusion on repeated spans, the decode regime, long contexts.
/// Every figure is measured in this run; time ratios are QuickSilver over dense, medians of interleaved runs.
/// </summary>
internal static class RegimesCommand
{
    public static Command Create(CommandContext context)
    {
        var outOption = CommonOptions.Out("regimes");
        var threads = CommonOptions.Threads();
        var model = CommonOptions.Model(true);
        var text = new Option<string?>("--text", "-t") { Description = "Evaluation text (not calibration text).", Required = true };
        var runs = new Option<int>("--runs") { Description = "Timed runs per variant (median reported).", DefaultValueFactory = _ => 5 };
        var longModel = new Option<string>("--long-model") { Description = "Model for the long-context timing (random:gpt2-small by default; 'none' to skip).", DefaultValueFactory = _ => "random:gpt2-small" };
        var command = new Command("regimes", "Where each mechanism pays: K/V precision, repeated spans, decode, long contexts.")
        {
            outOption, threads, model, text, runs, longModel,
        };
        command.SetAction(parse => context.Execute(() =>
        {
            string modelSpec = parse.GetValue(model)!;
            ModelLoader.Check(modelSpec);
            string content = TextInput.Read(parse.GetValue(text)!, "--text");
            int n = parse.GetValue(runs);
            CommonOptions.Positive(n, "--runs");
            var folder = OutputFolder.Prepare(parse.GetValue(outOption)!);
            int threadCount = CommonOptions.ResolveThreads(parse.GetValue(threads));
            using var lm = context.Reporter.Task($"Loading {modelSpec}", 1, _ => ModelLoader.Load(modelSpec, threadCount));
            var rows = new List<RegimeRow>();
            rows.AddRange(context.Reporter.Task("K/V precision", 1, _ => KvPrecision(lm, content, n)));
            rows.AddRange(context.Reporter.Task("Fusion on repeated spans", 1, _ => RepeatedSpans(lm, content)));
            rows.AddRange(context.Reporter.Task("Decode", 1, _ => Decode(lm, n)));
            string longSpec = parse.GetValue(longModel)!;
            if (!string.Equals(longSpec, "none", StringComparison.OrdinalIgnoreCase))
            {
                ModelLoader.Check(longSpec, "--long-model");
                using var big = context.Reporter.Task($"Loading {longSpec}", 1, _ => ModelLoader.Load(longSpec, threadCount));
                rows.AddRange(context.Reporter.Task("Long contexts", 1, _ => LongContexts(big, n)));
            }
            string markdown = Render(rows, modelSpec, threadCount);
            context.Publish(folder, "regimes", markdown, rows);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static QuickSilverPolicy Quiet(string name) => new() { Name = name, Lexicons = new TokenLexicons { ProtectNegations = false, ProtectJsonStructure = false } };

    /// <summary>Uniform K/V precision from the first layer on, activations untouched: memory against perplexity and decode time.</summary>
    internal static IEnumerable<RegimeRow> KvPrecision(LanguageModel lm, string text, int runs)
    {
        var ids = lm.Tokenizer.Encode(text, addBos: true).Take(Math.Min(lm.Config.MaxPositions * 4, 2048)).ToList();
        int window = Math.Min(256, lm.Config.MaxPositions);
        var evaluator = new PerplexityEvaluator(lm);
        double dense = evaluator.EvaluateTokens(ids, window, window).Perplexity;
        foreach (int bits in new[] { 8, 4, 2 })
        {
            var policy = Quiet($"kv{bits}");
            policy.Quantization = new QuantizationPolicy
            {
                Enabled = true, DecisionLayer = 1, QuantizeActivations = false, QuantizeKv = true, Normalization = EntropyNormalization.None,
                LowThreshold = 0, HighThreshold = 0, LowBits = bits, MidBits = bits, HighBits = bits, RareTokenIdFraction = null, ProtectNumbers = false,
            };
            var result = evaluator.EvaluateTokens(ids, window, window, policy);
            double timeRatio = DecodeTimeRatio(lm, policy, runs, out double kvRatio);
            yield return new RegimeRow("K/V precision", $"{bits}-bit K/V (packed, group scales in float16)", result.Perplexity / dense - 1,
                result.Stats.FlopsReduction, kvRatio, timeRatio, "decode time: dequantizing packed K/V each step costs time; no low-bit kernel");
        }
    }

    /// <summary>Adjacent fusion on ordinary text and on text with repeated spans.</summary>
    internal static IEnumerable<RegimeRow> RepeatedSpans(LanguageModel lm, string text)
    {
        var evaluator = new PerplexityEvaluator(lm);
        int window = Math.Min(256, lm.Config.MaxPositions);
        string repeated = string.Concat(Enumerable.Repeat("ha ", 60)) + new string('!', 80) + " " + string.Concat(Enumerable.Repeat("the end. ", 20));
        var normalIds = lm.Tokenizer.Encode(text, addBos: true).Take(1024).ToList();
        var repeatedIds = lm.Tokenizer.Encode(repeated + text, addBos: true).Take(1024).ToList();
        foreach (var (name, ids) in new[] { ("ordinary text", normalIds), ("repeated spans + text", repeatedIds) })
        {
            double dense = evaluator.EvaluateTokens(ids, window, window).Perplexity;
            foreach (float tau in new[] { 0.05f, 0.2f })
            {
                var policy = Quiet($"fuse-{tau}");
                policy.Fusion = new FusionPolicy { Enabled = true, DistanceThreshold = tau, StartLayer = Math.Max(1, lm.Config.NumLayers / 3) };
                var result = evaluator.EvaluateTokens(ids, window, window, policy);
                yield return new RegimeRow("Fusion", $"{name}, τ_fuse {tau} (relative)", result.Perplexity / dense - 1, result.Stats.FlopsReduction,
                    null, null, $"{result.Stats.FusedTokens} tokens fused of {ids.Count}; absorbed positions re-scored from their own prefix, those passes counted (paper's accounting, without them: {result.PaperStats.FlopsReduction:P2})");
            }
        }
    }

    /// <summary>Halting applied to generated tokens: every token halts after a third of the blocks (prescribed), KV skipped.</summary>
    internal static IEnumerable<RegimeRow> Decode(LanguageModel lm, int runs)
    {
        int k = Math.Max(1, lm.Config.NumLayers / 3);
        var policy = Quiet("decode-halt");
        policy.Halting = new HaltingPolicy { Enabled = true, MinLayer = k, DriftThreshold = 1e9f, EntropyThreshold = 1e9f, EntropyMode = EntropySignalMode.Exact };
        policy.KvSkip = new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip };
        double ratio = DecodeTimeRatio(lm, policy, runs, out double kvRatio, out var stats);
        yield return new RegimeRow("Decode", $"every token halts after {k}/{lm.Config.NumLayers} blocks, KV skipped", null, stats.FlopsReduction, kvRatio, ratio,
            "halting signals (exact logit-lens entropy) are paid at every eligible layer of every step");
        var cheap = policy.Clone();
        cheap.Halting.EntropyMode = EntropySignalMode.Proxy;
        ratio = DecodeTimeRatio(lm, cheap, runs, out kvRatio, out stats);
        yield return new RegimeRow("Decode", $"same, entropy by the low-rank proxy", null, stats.FlopsReduction, kvRatio, ratio, "proxy: rank-d/4 head + exact top-64 re-scoring");
    }

    private static double DecodeTimeRatio(LanguageModel lm, QuickSilverPolicy policy, int runs, out double kvRatio) => DecodeTimeRatio(lm, policy, runs, out kvRatio, out _);

    private static double DecodeTimeRatio(LanguageModel lm, QuickSilverPolicy policy, int runs, out double kvRatio, out RuntimeStats stats)
    {
        var ids = lm.Tokenizer.Encode("Once upon a time, there was a little girl who", addBos: true);
        int steps = Math.Min(128, lm.Config.MaxPositions - ids.Count - 1);
        RuntimeStats last = new();
        var dense = new GenerationRequest { MaxNewTokens = steps, StopTokenIds = [] };
        var routed = new GenerationRequest { MaxNewTokens = steps, Policy = policy };
        using var session = lm.CreateSession();
        // Time per generated token (a run may end early at EOS; both variants are normalized the same way).
        double Run(GenerationRequest request)
        {
            session.Reset();
            var result = session.Generate(ids, request);
            last = result.Stats;
            return result.TotalSeconds / Math.Max(1, result.Tokens.Count);
        }
        var times = Timing.Interleaved(runs, [() => Run(dense), () => Run(routed)]);
        Run(routed);
        stats = last;
        kvRatio = stats.DenseKvBytes > 0 ? (double)stats.KvBytes / stats.DenseKvBytes : double.NaN;
        return Summary.Of(Timing.Ratios(times[1], times[0])).Median;
    }

    /// <summary>Prefill of growing length with half the token-layers removed by prescribed halting: attention's share grows with T.</summary>
    internal static IEnumerable<RegimeRow> LongContexts(LanguageModel lm, int runs)
    {
        foreach (int t in new[] { 128, 256, 512, 1024 }.Where(t => t <= lm.Config.MaxPositions))
        {
            var profile = Profiles.Halting(0.5, t, lm.Config.NumLayers, seed: 3);
            var ids = Prefill.RandomTokens(t, lm.Config.VocabSize, 9);
            var plan = new RoutingPlan(profile.Policy, lm.Config);
            var stats = new RuntimeStats();
            void Dense() { using var c = new KvCache(lm.Config, t, lm.Transformer.Device, t); using var o = lm.Runner.Run(new ForwardInput { TokenIds = ids, Cache = c }); }
            void Routed() { using var c = new KvCache(lm.Config, t, lm.Transformer.Device, t); using var o = lm.Runner.Run(new ForwardInput { TokenIds = ids, Cache = c, Plan = plan, Flags = profile.Flags }); }
            var times = Timing.Interleaved(runs, [Dense, Routed]);
            using (var c = new KvCache(lm.Config, t, lm.Transformer.Device, t))
            using (var o = lm.Runner.Run(new ForwardInput { TokenIds = ids, Cache = c, Plan = plan, Flags = profile.Flags, Stats = stats })) { }
            double timeRatio = Summary.Of(Timing.Ratios(times[1], times[0])).Median;
            yield return new RegimeRow("Long context", $"prefill T={t}, {profile.TargetRemovedFraction:P0} of token-layers halted, KV skipped", null,
                stats.FlopsReduction, (double)stats.KvBytes / stats.DenseKvBytes, timeRatio, $"realization {(1 - timeRatio) / stats.FlopsReduction:F2}");
        }
    }

    internal static string Render(IReadOnlyList<RegimeRow> rows, string model, int threads)
    {
        static string P(double? v) => v is double x && double.IsFinite(x) ? (x * 100).ToString("+0.00;-0.00", CultureInfo.InvariantCulture) + " %" : "–";
        static string R(double? v) => v is double x && double.IsFinite(x) ? x.ToString("F3", CultureInfo.InvariantCulture) : "–";
        var sb = new StringBuilder($"# Regimes: where each mechanism pays\n\nModel `{model}`, {threads} threads. ΔPPL relative to dense on the same text; time ratio = QuickSilver / dense (median of interleaved runs; < 1 is faster).\n\n");
        sb.AppendLine("| regime | setting | ΔPPL | FLOPs reduction | KV bytes ratio | time ratio | note |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---|");
        foreach (var r in rows) sb.AppendLine($"| {r.Regime} | {r.Setting} | {P(r.DeltaPplRelative)} | {P(r.FlopsReduction)} | {R(r.KvBytesRatio)} | {R(r.TimeRatio)} | {r.Note} |");
        return sb.ToString();
    }
}
