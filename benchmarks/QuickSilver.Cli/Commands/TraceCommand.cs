using System.CommandLine;
using System.Text;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Cli.Plots;
using QuickSilver.Engine;
using QuickSilver.Engine.Runtime;
using QuickSilver.Policies;
using TorchSharp;

namespace QuickSilver.Cli.Commands;

/// <summary>What trace.json holds.</summary>
internal sealed record TraceReport(string Model, string Text, string Policy, int Tokens, int Layers, int DecisionLayer,
    IReadOnlyList<TraceToken> PerToken, IReadOnlyList<string> Figures, double FlopsReduction);

internal sealed record TraceToken(int Position, string Piece, int HaltLayer, int FusedInto, int FusionLayer, int Bits, int KvLayersWritten);

internal static class TraceCommand
{
    public static Command Create(CommandContext context)
    {
        var outOption = CommonOptions.Out("trace");
        var threads = CommonOptions.Threads();
        var model = CommonOptions.Model(true);
        var text = new Option<string?>("--text", "-t") { Description = "Text to trace (its first --max-tokens tokens).", Required = true };
        var policy = new Option<string>("--policy", "-p") { Description = "Policy: a preset (dense, safe, paper) or a policy JSON file.", DefaultValueFactory = _ => "paper" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Tokens traced (one forward pass).", DefaultValueFactory = _ => 96 };
        var width = new Option<int>("--width") { Description = "PNG width in pixels.", DefaultValueFactory = _ => 1200 };
        var height = new Option<int>("--height") { Description = "PNG height in pixels.", DefaultValueFactory = _ => 600 };
        var command = new Command("trace", "One text through a policy: halting timeline, KV-write heatmap, fusion flow, entropy histograms and bit-width heatmap (PNG), plus a token table.")
        {
            outOption, threads, model, text, policy, maxTokens, width, height,
        };
        command.SetAction(parse => context.Execute(() =>
        {
            int max = parse.GetValue(maxTokens), w = parse.GetValue(width), h = parse.GetValue(height);
            if (max < 2) throw new CliException($"--max-tokens must be at least 2 (got {max}).");
            if (w < 100 || h < 100 || w > 10000 || h > 10000) throw new CliException($"--width/--height must be in [100, 10000] pixels (got {w}×{h}).");
            string modelSpec = parse.GetValue(model)!;
            ModelLoader.Check(modelSpec);
            string textPath = parse.GetValue(text)!;
            string content = TextInput.Read(textPath, "--text");
            var resolved = PolicyCatalog.Resolve(parse.GetValue(policy));
            var folder = OutputFolder.Prepare(parse.GetValue(outOption)!);
            int n = CommonOptions.ResolveThreads(parse.GetValue(threads));
            using var lm = context.Reporter.Task($"Loading {modelSpec}", 1, _ => ModelLoader.Load(modelSpec, n));
            var report = context.Reporter.Task("Tracing and drawing", 1, _ => Run(lm, modelSpec, textPath, content, resolved, max, folder, w, h));
            var markdown = Render(report);
            context.Publish(folder, "trace", markdown, report, report.Figures);
            return ExitCodes.Success;
        }));
        return command;
    }

    public static (TokenTrace Trace, RuntimeStats Stats, List<int> Ids, RoutingPlan? Plan) TracePass(LanguageModel lm, IReadOnlyList<int> ids, QuickSilverPolicy policy)
    {
        using var noGrad = torch.no_grad();
        var list = ids.ToList();
        var plan = policy.IsDense ? null : new RoutingPlan(policy, lm.Config);
        var trace = new TokenTrace(list.Count, lm.Config.NumLayers, 0);
        var stats = new RuntimeStats();
        using var cache = new KvCache(lm.Config, list.Count, lm.Transformer.Device, list.Count);
        using var output = lm.Runner.Run(new ForwardInput
        {
            TokenIds = list, Cache = cache, Plan = plan, Flags = lm.ResolveProtectedIds(plan, null).FlagsFor(list), Stats = stats, Trace = trace,
        });
        if (plan is null) // the dense path leaves the trace empty: every token ran every layer and wrote every K/V
            for (int i = 0; i < list.Count; i++) for (int l = 0; l < lm.Config.NumLayers; l++) trace.KvWritten[i, l] = true;
        return (trace, stats, list, plan);
    }

    public static TraceReport Run(LanguageModel lm, string model, string textPath, string text, QuickSilverPolicy policy, int maxTokens, OutputFolder folder, int width, int height)
    {
        var ids = lm.Tokenizer.Encode(text, addBos: true).Take(Math.Min(maxTokens, lm.Config.MaxPositions)).ToList();
        if (ids.Count < 2) throw new CliException($"Text '{textPath}' has fewer than two tokens.");
        var (trace, stats, list, plan) = TracePass(lm, ids, policy);
        int layers = lm.Config.NumLayers;
        int decision = plan?.DecisionLayer ?? layers;
        var figures = new List<string>();
        string Fig(string name) { string p = folder.File(name); figures.Add(p); return p; }
        TraceFigures.LevelMap(Fig("halting-timeline.png"), TraceFigures.HaltingGrid(trace, layers), TraceFigures.HaltingLevels, $"Halting timeline ({policy.Name})", "token state",
            "nothing fired: no token halted or fused", width, height);
        TraceFigures.LevelMap(Fig("kv-writes.png"), TraceFigures.KvGrid(trace, layers), TraceFigures.KvLevels, $"K/V writes ({policy.Name})", "K/V entry",
            "nothing skipped: every token wrote K/V at every block", width, height);
        TraceFigures.FusionFlow(Fig("fusion-flow.png"), trace, layers, width, height);
        // The policy computes entropy only where it decides; the histograms show every layer, from a dense recording.
        var record = new QuickSilver.Engine.Calibration.PolicyCalibrator(lm).Record(list, list.Count);
        var denseEntropy = new TokenTrace(list.Count, layers, 0);
        for (int l = 0; l < layers; l++) for (int i = 0; i < list.Count; i++) denseEntropy.Entropy[i, l] = record.Entropy[l][i];
        TraceFigures.EntropyHistograms(Fig("entropy-histograms.png"), denseEntropy, layers, width, height, "from a dense run of the same tokens (every layer; the policy reads only its decision layers)");
        TraceFigures.LevelMap(Fig("bits-heatmap.png"), TraceFigures.BitsGrid(trace, layers, policy.Quantization.Enabled ? decision : layers), TraceFigures.BitLevels,
            $"Bit width per token and block ({policy.Name})", "precision", "nothing quantized", width, height);
        var perToken = list.Select((id, i) => new TraceToken(i, lm.Tokenizer.TokenPiece(id), trace.HaltLayer[i], trace.FusedInto[i], trace.FusionLayer[i], trace.Bits[i],
            Enumerable.Range(0, layers).Count(l => trace.KvWritten[i, l]))).ToList();
        return new TraceReport(model, textPath, policy.Name, list.Count, layers, decision, perToken, figures, stats.DenseFlops > 0 ? stats.FlopsReduction : 0);
    }

    public static string Render(TraceReport r)
    {
        var sb = new StringBuilder("# Trace\n\n");
        sb.AppendLine($"Model `{r.Model}`, text `{r.Text}`, policy `{r.Policy}`, {r.Tokens} tokens, {r.Layers} layers. FLOPs reduction of this pass (router incl.): {r.FlopsReduction:P2}.").AppendLine();
        foreach (var f in r.Figures) sb.AppendLine($"![{Path.GetFileNameWithoutExtension(f)}]({Path.GetFileName(f)})");
        sb.AppendLine().AppendLine("| pos | token | halting depth | fused into (at layer) | bits | K/V layers written |").AppendLine("|---:|---|---:|---|---:|---:|");
        foreach (var t in r.PerToken)
        {
            string depth = t.HaltLayer >= 0 ? t.HaltLayer.ToString() : t.FusionLayer >= 0 ? $"{t.FusionLayer} (fused)" : $"{r.Layers} (all)";
            string fused = t.FusedInto >= 0 ? $"{t.FusedInto} ({t.FusionLayer})" : "";
            sb.AppendLine($"| {t.Position} | `{Escape(t.Piece)}` | {depth} | {fused} | {(t.Bits >= 32 ? "full" : t.Bits.ToString())} | {t.KvLayersWritten} |");
        }
        return sb.ToString();
    }

    private static string Escape(string piece) => piece.Replace("|", "\\|").Replace("`", "'").Replace("\n", "\\n").Replace("\r", "\\r");
}
