using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Cli.Kernels;
using QuickSilver.Cli.Speed;
using QuickSilver.Engine;
using QuickSilver.Engine.Evaluation;
using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using QuickSilver.Policies;
using TorchSharp;

namespace QuickSilver.Cli.Commands;

/// <summary>One model's measurements in <c>quicksilver planes</c>.</summary>
internal sealed record PlanesModelReport(string Model, string Weights, int Threads, int PromptTokens, int DecodeTokens, int Rounds,
    IReadOnlyList<PlanesDecodeRow> Decode, IReadOnlyList<PlanesPerplexityRow> Perplexity)
{
    /// <summary>With --profile: per setting, ms per token by timed operation (one extra decode each), plus the untimed rest.</summary>
    public IReadOnlyList<(string Setting, IReadOnlyDictionary<string, double> MsPerToken)> Profile { get; init; } = [];
}

/// <summary>Decode at one precision setting: median ms per token over rounds, weight bytes read per token.</summary>
/// <remarks>
/// CPU ms per token is the process's CPU time (all threads) per token: on a loaded machine the wall clock counts other
/// processes' turns, CPU time only this process's work (memory stalls included).
/// </remarks>
internal sealed record PlanesDecodeRow(string Setting, double MsPerToken, double RatioTo8Bit, double WeightBytesPerToken, double PlaneBytesPerToken, string Bits)
{
    /// <summary>Median process CPU ms per token.</summary>
    public double CpuMsPerToken { get; init; }

    /// <summary><see cref="CpuMsPerToken"/> ÷ the reference row's, as <see cref="RatioTo8Bit"/>.</summary>
    public double CpuRatio { get; init; }
}

/// <summary>Perplexity under one setting.</summary>
internal sealed record PlanesPerplexityRow(string Setting, double Perplexity, double DeltaVs8Bit, string Bits);

/// <summary>
/// <c>quicksilver planes</c>: adaptive precision that reads fewer bytes (issue 11 part 4). Loads stories260K (float,
/// quantized to Q8_0 at load) and the random 374M Llama's Q8_0 file with nested bit planes, then in one run measures the
/// decode time per token with every block matrix read at 8, 4 and 2 bits and under the entropy policy, the weight bytes read
/// per token, and on stories260K the perplexity cost of each setting on TinyStories.
/// </summary>
internal static class PlanesCommand
{
    public static Command Create(CommandContext context)
    {
        var cache = new Option<string>("--cache") { Description = "Folder of the speed benchmark's GGUF files (the 374M Q8_0 file is made when absent).", DefaultValueFactory = _ => SpeedCommand.DefaultCache };
        var models = new Option<string>("--models") { Description = "Comma-separated: stories260K, 374m.", DefaultValueFactory = _ => "stories260K,374m" };
        var threads = new Option<int>("--threads") { Description = "Kernel and libtorch threads.", DefaultValueFactory = _ => 2 };
        var prompt = new Option<int>("--prompt-tokens") { Description = "Prompt prefilled before decoding.", DefaultValueFactory = _ => 32 };
        var decode = new Option<int>("--decode-tokens") { Description = "Greedy tokens decoded per round and setting.", DefaultValueFactory = _ => 32 };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds over the settings (median).", DefaultValueFactory = _ => 3 };
        var pplTokens = new Option<int>("--ppl-tokens") { Description = "TinyStories tokens scored for the perplexity cost (stories260K).", DefaultValueFactory = _ => 4096 };
        var probe = new Option<bool>("--probe") { Description = "Only the kernel probe: one thread, CPU time per product of the Q8_0 decode kernel and the plane kernels at 8/4/2 bits on the 374M shapes." };
        var profile = new Option<bool>("--profile") { Description = "After the timed rounds, one more decode per setting with the per-operation profile on: where each setting's time per token goes." };
        var inCache = new Option<bool>("--in-cache") { Description = "With --probe: one copy of each matrix, so it stays in cache (the kernels' arithmetic without the memory stream)." };
        var alternate = new Option<bool>("--alternate") { Description = "Run the fixed-width settings (8, 4, 2, 4head, 2head) token by token in turn within one decode per round, so each sees the same machine load (A/B on a loaded machine); the others as before." };
        var only = new Option<string>("--settings") { Description = $"Comma-separated decode settings to run (default all): {string.Join(", ", SettingKeys)}. The ratios need 8 (and kv for the packed K/V row)." };
        var outOption = CommonOptions.Out("planes");
        var command = new Command("planes", "Matryoshka bit planes: decode time and weight bytes per token at 8/4/2 bits and under the entropy policy, and the policy's perplexity cost.");
        foreach (var option in new Option[] { cache, models, threads, prompt, decode, rounds, pplTokens, probe, inCache, profile, only, alternate, outOption }) command.Options.Add(option);
        command.SetAction(parse => context.Execute(() =>
        {
            foreach (var (v, option) in new[] { (parse.GetValue(threads), "--threads"), (parse.GetValue(prompt), "--prompt-tokens"), (parse.GetValue(decode), "--decode-tokens"), (parse.GetValue(rounds), "--rounds"), (parse.GetValue(pplTokens), "--ppl-tokens") })
                CommonOptions.Positive(v, option);
            var list = parse.GetValue(models)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var m in list)
                if (!m.Equals("stories260K", StringComparison.OrdinalIgnoreCase) && !m.Equals("374m", StringComparison.OrdinalIgnoreCase))
                    throw new CliException($"--models: unknown model '{m}' (known: stories260K, 374m).");
            string[]? chosen = parse.GetValue(only) is { } keys ? keys.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : null;
            foreach (var key in chosen ?? [])
                if (!SettingKeys.Contains(key)) throw new CliException($"--settings: unknown setting '{key}' (known: {string.Join(", ", SettingKeys)}).");
            var folder = OutputFolder.Prepare(parse.GetValue(outOption)!);
            if (parse.GetValue(probe))
            {
                var probeRows = PlaneProbe.Run(1.0, parse.GetValue(inCache), s => context.Output.WriteLine(s));
                string load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "unknown";
                var (probeMd, probeJs) = folder.WriteReport("planes-probe", PlaneProbe.Render(probeRows, load, parse.GetValue(inCache)), probeRows);
                context.Output.WriteLine(PlaneProbe.Render(probeRows, load, parse.GetValue(inCache)));
                context.Output.WriteLine($"Results: {probeMd}, {probeJs}");
                return ExitCodes.Success;
            }
            int n = parse.GetValue(threads);
            KernelSettings.Threads = n;
            var reports = new List<PlanesModelReport>();
            foreach (var m in list)
            {
                bool small = m.Equals("stories260K", StringComparison.OrdinalIgnoreCase);
                string path = small
                    ? SharedPaths.Stories260KBin ?? throw new CliException("stories260K.bin not found in the shared assets.")
                    : SpeedModels.Ensure(parse.GetValue(cache)!, "Q8_0", s => context.Output.WriteLine(s));
                var options = new LanguageModelOptions { Threads = n, BitPlanes = true, QuantizeWeights = small ? Engine.Loading.GgufTensorType.Q8_0 : null };
                using var lm = context.Reporter.Task($"Loading {path} with bit planes", 1, _ => LanguageModel.Load(path, options));
                reports.Add(Measure(lm, small ? "stories260K (F32 → Q8_0 at load)" : "random Llama 374M (Q8_0 GGUF)", parse.GetValue(prompt), parse.GetValue(decode), parse.GetValue(rounds), n,
                    small ? parse.GetValue(pplTokens) : 0, parse.GetValue(profile), chosen, parse.GetValue(alternate), context.Reporter));
            }
            var markdown = Render(reports, "quicksilver " + string.Join(' ', parse.Tokens.Select(t => t.Value)));
            var (md, js) = folder.WriteReport("planes", markdown, reports);
            context.Output.WriteLine(markdown);
            context.Output.WriteLine($"Results: {md}, {js}");
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>The entropy policy of the paper (τ_low = 1.0, τ_high = 2.3 nats at the middle layer), reading weight planes only.</summary>
    public static QuickSilverPolicy EntropyPolicy() => new()
    {
        Name = "entropy 8/4/2",
        Quantization = new QuantizationPolicy
        {
            Enabled = true, Normalization = EntropyNormalization.None, LowThreshold = 1.0f, HighThreshold = 2.3f,
            QuantizeWeights = true, QuantizeActivations = false, QuantizeKv = false, ProtectNumbers = false, RareTokenIdFraction = 0.9f,
        },
    };

    private static QuickSilverPolicy Uniform(int bits) => new()
    {
        Name = $"{bits}-bit after the decision layer",
        Quantization = new QuantizationPolicy
        {
            Enabled = true, LowBits = bits, MidBits = bits, HighBits = bits, QuantizeWeights = true, QuantizeActivations = false, QuantizeKv = false,
            ProtectNumbers = false, RareTokenIdFraction = null,
        },
    };

    /// <summary>Routed decode at uniform 8 bits (no entropy read, weights read in full), K/V packed at 8 bits or kept float.</summary>
    private static QuickSilverPolicy KvPolicy(bool packed) => new()
    {
        Name = packed ? "K/V packed at 8 bits" : "K/V float",
        Quantization = new QuantizationPolicy
        {
            Enabled = true, DecisionLayer = 1, LowBits = 8, MidBits = 8, HighBits = 8, QuantizeWeights = false, QuantizeActivations = false, QuantizeKv = packed,
            ProtectNumbers = false, RareTokenIdFraction = null,
        },
    };

    // Dense 8 bits through the per-layer tensor path the routed rows take (no decode row path): what routing costs
    // beyond its own decisions.
    private const string TensorPath = "8 bits, tensor path (dense, row path off)";

    /// <summary>The keys of <c>--settings</c>, in the order the settings run.</summary>
    private static readonly string[] SettingKeys = ["8", "4", "2", "entropy", "kv", "kvpacked", "tensor", "4head", "2head", "policy4"];

    private static PlanesModelReport Measure(LanguageModel lm, string name, int promptTokens, int decodeTokens, int rounds, int threads, int pplTokens, bool profile,
        string[]? chosen, bool alternate, Reporter reporter)
    {
        var model = lm.Transformer;
        var matrices = model.Blocks.SelectMany(b => b.ProjectionWeights).ToList();
        var c = model.Config;
        // Block matrices not held as planes are read in full: attention ones as held, and the feed-forward's down projection
        // when its input width is not whole 32-value blocks (stories260K's 172), which then stays float32.
        long otherBytes = matrices.Where(w => w is not BitPlaneLinearWeight).Sum(w => w.StorageBytes)
            + (c.IntermediateSize % 32 != 0 ? (long)c.NumLayers * c.HiddenSize * c.IntermediateSize * sizeof(float) : 0);
        // A head held as planes is counted by the plane kernels' own byte counter (each read at the width it was read at).
        long headBytes = model.Head is BitPlaneLinearWeight ? 0 : model.Head.StorageBytes;
        var prompt = PromptIds(lm, promptTokens);
        var entropy = EntropyPolicy();
        // Uniform widths: every block matrix read at b bits for the decoded token (a scope around the dense step).
        // "and head": the head (when held as planes) read at the same width, beyond the paper's policy (QuantizeHead).
        var all = new (string Name, int? Bits, QuickSilverPolicy? Policy, bool Head)[]
        {
            ("8 bits (all blocks)", 8, null, false), ("4 bits (all blocks)", 4, null, false), ("2 bits (all blocks)", 2, null, false), (entropy.Name + ", decision at the middle layer", null, entropy, false),
            ("routed, K/V float (reference for the next row)", null, KvPolicy(false), false), ("routed, K/V packed at 8 bits", null, KvPolicy(true), false),
            (TensorPath, 8, null, false), ("4 bits, all blocks and head", 4, null, true), ("2 bits, all blocks and head", 2, null, true),
            ("policy: 4 bits after the decision layer (routed)", null, Uniform(4), false),
        };
        var settings = all.Where((_, i) => chosen is null || chosen.Contains(SettingKeys[i])).ToArray();
        int eightAt = Array.FindIndex(settings, x => x.Name == all[0].Name), kvAt = Array.FindIndex(settings, x => x.Name == all[4].Name);
        var times = settings.Select(_ => new List<double>()).ToArray();
        var cpuTimes = settings.Select(_ => new List<double>()).ToArray();
        var planeBytes = new double[settings.Length];
        var bitCounts = settings.Select(_ => new RuntimeStats()).ToArray();
        // One untimed round first: each width's kernels are generic instantiations JIT-compiled on first use, and code
        // not yet at tier 1 would be timed in whichever setting meets it first (it made the first 8-bit round up to 1.6×).
        foreach (var setting in settings)
            reporter.Task($"{name}: {setting.Name}, warm-up", 1, _ => DecodeSetting(lm, prompt, decodeTokens, setting));
        int[] alternating = alternate ? Enumerable.Range(0, settings.Length).Where(s => settings[s].Policy is null && settings[s].Name != TensorPath).ToArray() : [];
        for (int r = 0; r < rounds; r++)
        {
            if (alternating.Length > 0)
            {
                var turns = reporter.Task($"{name}: {alternating.Length} fixed widths token by token, round {r + 1}", 1, _ => DecodeAlternating(lm, prompt, decodeTokens, alternating.Select(s => settings[s]).ToArray()));
                for (int i = 0; i < alternating.Length; i++)
                {
                    times[alternating[i]].Add(turns[i].MsPerToken);
                    cpuTimes[alternating[i]].Add(turns[i].CpuMsPerToken);
                    planeBytes[alternating[i]] = turns[i].PlaneBytesPerToken;
                }
            }
            for (int s = 0; s < settings.Length; s++)
            {
                if (alternating.Contains(s)) continue;
                var (ms, bytes, stats, cpuMs) = reporter.Task($"{name}: {settings[s].Name}, round {r + 1}", 1, _ => DecodeSetting(lm, prompt, decodeTokens, settings[s]));
                times[s].Add(ms);
                cpuTimes[s].Add(cpuMs);
                planeBytes[s] = bytes;
                bitCounts[s] = stats;
            }
        }
        var profiles = new List<(string, IReadOnlyDictionary<string, double>)>();
        for (int s = 0; profile && s < settings.Length; s++)
        {
            // The profile's own timestamps cost a little; its rows are shares, the timed rounds above are the times.
            var (ms, _, _, _) = reporter.Task($"{name}: {settings[s].Name}, profiled", 1, _ => DecodeSetting(lm, prompt, decodeTokens, settings[s], profiled: true));
            var ops = OpProfile.Snapshot().ToDictionary(p => p.Key, p => p.Value.Seconds * 1000 / Math.Max(1, decodeTokens - 1));
            OpProfile.Enabled = false;
            // On the row path the block's parts are timed around their products, so the products are not added again.
            bool rowParts = ops.ContainsKey("q|k|v projection");
            double timed = ops.Where(o => !rowParts || !(o.Key.Contains("matmul", StringComparison.Ordinal) || o.Key == "quantize activations")).Sum(o => o.Value);
            ops["everything else (norms, rotary, attention, routing, dispatch, argmax)"] = Math.Max(0, ms - timed);
            profiles.Add((settings[s].Name, ops));
        }
        double eight = eightAt < 0 ? double.NaN : Median(times[eightAt]);
        var rows = new List<PlanesDecodeRow>();
        for (int s = 0; s < settings.Length; s++)
        {
            double ms = Median(times[s]);
            bool uniform = settings[s].Policy is { } p && p.Quantization.HighBits == p.Quantization.LowBits;
            bool kv = uniform && !settings[s].Policy!.Quantization.QuantizeWeights;
            // The tensor-path row is compared with 8 bits on the row path, like the uniform widths.
            int headPasses = settings[s].Policy is null || uniform ? 1 : 2; // the entropy policy reads the head once more for the decision-layer entropy
            string bits = settings[s].Policy is null ? $"{settings[s].Bits}" : BitsText(bitCounts[s]);
            double reference = kv ? (kvAt < 0 ? double.NaN : Median(times[kvAt])) : eight; // the packed K/V row is compared with the float K/V row
            double cpuReference = kv ? (kvAt < 0 ? double.NaN : Median(cpuTimes[kvAt])) : eightAt < 0 ? double.NaN : Median(cpuTimes[eightAt]);
            rows.Add(new PlanesDecodeRow(settings[s].Name, ms, ms / reference, planeBytes[s] + otherBytes + (headPasses * headBytes), planeBytes[s], bits)
            {
                CpuMsPerToken = Median(cpuTimes[s]), CpuRatio = Median(cpuTimes[s]) / cpuReference,
            });
        }
        var ppl = new List<PlanesPerplexityRow>();
        if (pplTokens > 0)
        {
            string text = File.ReadAllText(SharedPaths.TinyStoriesValid ?? throw new CliException("TinyStories excerpt not found in the shared assets."));
            var ids = lm.Tokenizer.Encode(text, addBos: true).Take(pplTokens).ToList();
            var evaluator = new PerplexityEvaluator(lm);
            int window = Math.Min(256, lm.Config.MaxPositions), stride = window / 2;
            var baseline = reporter.Task("perplexity, 8 bits", 1, _ => evaluator.EvaluateTokens(ids, window, stride));
            ppl.Add(new PlanesPerplexityRow("8 bits (Q8_0 values)", baseline.Perplexity, 0, "8"));
            foreach (var policy in new[] { Uniform(4), Uniform(2), entropy })
            {
                var result = reporter.Task($"perplexity, {policy.Name}", 1, _ => evaluator.EvaluateTokens(ids, window, stride, policy));
                ppl.Add(new PlanesPerplexityRow(policy.Name, result.Perplexity, result.Perplexity - baseline.Perplexity, BitsText(result.Stats)));
            }
        }
        return new PlanesModelReport(name, $"attention matrices as bit planes: {matrices.Count(w => w is BitPlaneLinearWeight)} of {matrices.Count}; feed-forward {(c.IntermediateSize % 32 != 0 ? "gate/up as planes, down float32" : "as planes")}; head {model.Head.Format}", threads, prompt.Count, decodeTokens, rounds, rows, ppl) { Profile = profiles };
    }

    private static (double MsPerToken, double PlaneBytesPerToken, RuntimeStats Stats, double CpuMsPerToken) DecodeSetting(LanguageModel lm, List<int> prompt, int tokens,
        (string Name, int? Bits, QuickSilverPolicy? Policy, bool Head) setting, bool profiled = false)
        => Decode(lm, prompt, tokens, setting.Bits, setting.Policy, profiled, rowPath: setting.Name != TensorPath, head: setting.Head);

    /// <summary>
    /// Fixed-width settings (no policy, row path) in turn token by token in one decode of <paramref name="tokensEach"/> tokens
    /// per setting: each setting's ms, CPU ms and plane bytes per token, its first token untimed (warm-up).
    /// </summary>
    private static (double MsPerToken, double PlaneBytesPerToken, double CpuMsPerToken)[] DecodeAlternating(LanguageModel lm, List<int> prompt, int tokensEach,
        (string Name, int? Bits, QuickSilverPolicy? Policy, bool Head)[] settings)
    {
        var model = lm.Transformer;
        var runner = lm.Runner;
        int n = settings.Length, total = tokensEach * n;
        using var cache = new KvCache(model.Config, prompt.Count + total + 1, model.Device);
        int next;
        using (var o = runner.Run(new ForwardInput { TokenIds = prompt, Cache = cache, Stats = new RuntimeStats() }))
            next = (int)o.Logits[0].argmax().item<long>();
        var (ticks, cpu, bytes, counts) = (new long[n], new double[n], new long[n], new int[n]);
        for (int t = 0; t < total; t++)
        {
            int s = t % n;
            int[] width = [settings[s].Bits ?? 8];
            long bytesBefore = BitPlaneLinearWeight.TotalBytesRead, start = Stopwatch.GetTimestamp();
            double cpuBefore = Environment.CpuUsage.TotalTime.TotalMilliseconds;
            using (WeightPrecision.Use(width, settings[s].Head ? width : null))
            using (var o = runner.Run(new ForwardInput { TokenIds = [next], StartPosition = prompt.Count + t, Cache = cache, Stats = new RuntimeStats() }))
                next = (int)o.Logits[0].argmax().item<long>();
            if (t < n) continue; // each setting's first token is a warm-up
            ticks[s] += Stopwatch.GetTimestamp() - start;
            cpu[s] += Environment.CpuUsage.TotalTime.TotalMilliseconds - cpuBefore;
            bytes[s] += BitPlaneLinearWeight.TotalBytesRead - bytesBefore;
            counts[s]++;
        }
        return Enumerable.Range(0, n).Select(s => (ticks[s] * 1000.0 / Stopwatch.Frequency / Math.Max(1, counts[s]), bytes[s] / (double)Math.Max(1, counts[s]), cpu[s] / Math.Max(1, counts[s]))).ToArray();
    }

    private static (double MsPerToken, double PlaneBytesPerToken, RuntimeStats Stats, double CpuMsPerToken) Decode(LanguageModel lm, List<int> prompt, int tokens, int? bits, QuickSilverPolicy? policy, bool profiled = false, bool rowPath = true, bool head = false)
    {
        var model = lm.Transformer;
        var runner = lm.Runner;
        var plan = policy is null ? null : new RoutingPlan(policy, model.Config);
        var stats = new RuntimeStats();
        bool wasRowPath = runner.DecodeRowPath;
        runner.DecodeRowPath = rowPath;
        using var restore = new Restore(() => runner.DecodeRowPath = wasRowPath);
        using var cache = new KvCache(model.Config, prompt.Count + tokens + 1, model.Device);
        int next;
        using (var o = runner.Run(new ForwardInput { TokenIds = prompt, Cache = cache, Plan = plan, Stats = new RuntimeStats() }))
            next = (int)o.Logits[0].argmax().item<long>();
        int[] width = [bits ?? 8];
        long bytesBefore = 0, ticks = 0;
        double cpuBefore = 0;
        for (int t = 0; t < tokens; t++)
        {
            if (t == 1)
            {
                bytesBefore = BitPlaneLinearWeight.TotalBytesRead; // step 0 is a warm-up
                cpuBefore = Environment.CpuUsage.TotalTime.TotalMilliseconds;
                if (profiled)
                {
                    OpProfile.Reset();
                    OpProfile.Enabled = true;
                }
            }
            long start = Stopwatch.GetTimestamp();
            using (WeightPrecision.Use(bits is null ? null : width, head ? width : null))
            using (var o = runner.Run(new ForwardInput { TokenIds = [next], StartPosition = prompt.Count + t, Cache = cache, Plan = plan, Stats = t == 0 ? new RuntimeStats() : stats }))
                next = (int)o.Logits[0].argmax().item<long>();
            if (t > 0) ticks += Stopwatch.GetTimestamp() - start;
        }
        int measured = Math.Max(1, tokens - 1);
        double cpu = (Environment.CpuUsage.TotalTime.TotalMilliseconds - cpuBefore) / measured;
        return (ticks * 1000.0 / Stopwatch.Frequency / measured, (BitPlaneLinearWeight.TotalBytesRead - bytesBefore) / (double)measured, stats, cpu);
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    private static List<int> PromptIds(LanguageModel lm, int count)
    {
        string text = File.ReadAllText(SharedPaths.TinyStoriesSample ?? throw new CliException("TinyStories sample not found in the shared assets."));
        var ids = lm.Tokenizer.Encode(text, addBos: true).Where(i => i < lm.Config.VocabSize).Take(count).ToList();
        while (ids.Count < count) ids.Add(ids.Count % Math.Max(1, lm.Config.VocabSize - 3) + 3); // a placeholder vocabulary (374M) may encode little
        return ids;
    }

    private static string BitsText(RuntimeStats s)
    {
        long total = s.Tokens8Bit + s.Tokens4Bit + s.Tokens2Bit;
        return total == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"8:{100.0 * s.Tokens8Bit / total:F0}% 4:{100.0 * s.Tokens4Bit / total:F0}% 2:{100.0 * s.Tokens2Bit / total:F0}%");
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static string Render(IEnumerable<PlanesModelReport> reports, string commandLine)
    {
        static string F(double v, int d) => v.ToString($"F{d}", CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        sb.AppendLine("# Matryoshka bit planes: bytes read and decode time per token");
        sb.AppendLine();
        sb.AppendLine($"Command: `{commandLine}`. Decode: greedy, after a prompt, median over interleaved rounds; CPU ms/token = process CPU time per timed token (all threads; other processes' turns on a loaded machine not counted); weight bytes per token = plane bytes the kernels read (the head's too when it is held as planes) + other block matrices + a head not held as planes (twice under the policy: the decision-layer entropy reads it).");
        foreach (var r in reports)
        {
            sb.AppendLine();
            sb.AppendLine($"## {r.Model}");
            sb.AppendLine();
            sb.AppendLine($"{r.Weights}; {r.Threads} threads; prompt {r.PromptTokens}, {r.DecodeTokens} decoded tokens × {r.Rounds} rounds.");
            sb.AppendLine();
            sb.AppendLine("| setting | ms/token | ratio (÷ 8-bit; K/V rows ÷ float K/V) | CPU ms/token | CPU ratio | weight MB/token | plane MB/token | bits (token share) |");
            sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|");
            foreach (var d in r.Decode)
                sb.AppendLine($"| {d.Setting} | {F(d.MsPerToken, 3)} | {F(d.RatioTo8Bit, 2)} | {F(d.CpuMsPerToken, 3)} | {F(d.CpuRatio, 2)} | {F(d.WeightBytesPerToken / 1e6, 3)} | {F(d.PlaneBytesPerToken / 1e6, 3)} | {d.Bits} |");
            if (r.Perplexity.Count > 0)
            {
                sb.AppendLine();
                sb.AppendLine("| perplexity (TinyStories) | ppl | Δ vs 8-bit | bits (token share) |");
                sb.AppendLine("|---|---:|---:|---|");
                foreach (var p in r.Perplexity) sb.AppendLine($"| {p.Setting} | {F(p.Perplexity, 3)} | {F(p.DeltaVs8Bit, 3)} | {p.Bits} |");
            }
            if (r.Profile.Count > 0)
            {
                var ops = r.Profile.SelectMany(p => p.MsPerToken.Keys).Distinct().OrderByDescending(k => r.Profile.Max(p => p.MsPerToken.GetValueOrDefault(k))).ToList();
                sb.AppendLine();
                sb.AppendLine("Profile (one more decode per setting, ms per token by operation; on the decode row path the products and activation quantization are also inside the block parts' times):");
                sb.AppendLine();
                sb.AppendLine("| operation | " + string.Join(" | ", r.Profile.Select(p => p.Setting)) + " |");
                sb.AppendLine("|---|" + string.Concat(r.Profile.Select(_ => "---:|")));
                foreach (var op in ops) sb.AppendLine($"| {op} | " + string.Join(" | ", r.Profile.Select(p => F(p.MsPerToken.GetValueOrDefault(op), 3))) + " |");
            }
        }
        return sb.ToString();
    }
}
