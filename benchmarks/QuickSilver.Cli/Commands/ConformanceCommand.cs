using System.CommandLine;
using System.Globalization;
using System.Text;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine.Loading;
using QuickSilver.Testing.Conformance;

namespace QuickSilver.Cli.Commands;

/// <summary>
/// The conformance matrix of issue 10: architecture × tensor type → loads, max |Δlogit| and argmax agreement against
/// llama.cpp on the same file, perplexity ratio, and max |Δ| against a float64 forward on the same dequantized weights.
/// Architectures come from <see cref="ConformanceArchitectures"/>; every file is a random-weight GGUF quantized by
/// llama-quantize in this run.
/// </summary>
internal static class ConformanceCommand
{
    public static Command Create(CommandContext context)
    {
        var outOption = CommonOptions.Out("conformance");
        var threads = CommonOptions.Threads();
        var architectures = new Option<string?>("--arch") { Description = $"Comma-separated architectures (default: all of {string.Join(", ", ConformanceArchitectures.All.Select(a => a.Name))})." };
        var types = new Option<string?>("--types") { Description = $"Comma-separated tensor types or mixes (default: all of {string.Join(", ", ConformanceVariant.All.Select(v => v.Name))})." };
        var textTokens = new Option<int>("--text-tokens") { Description = "Tokens of the text part (BOS + text bytes).", DefaultValueFactory = _ => 32 };
        var sampledTokens = new Option<int>("--sampled-tokens") { Description = "Tokens sampled from the F32 model after the text (perplexity goal measured on these).", DefaultValueFactory = _ => 224 };
        var rounded = new Option<string>("--rounded-reference")
        {
            Description = "Which cells also run the float64 forward rounding activations like llama.cpp (an explanatory column that doubles the reference's cost): all, float (F32/F16/BF16) or none.",
            DefaultValueFactory = _ => "float",
        };
        rounded.AcceptOnlyFromAmong("all", "float", "none");
        var text = new Option<string?>("--text", "-t") { Description = "Text whose bytes become the text part (default: a built-in paragraph)." };
        var command = new Command("conformance", "Architecture × tensor type matrix against llama.cpp and a float64 reference, on random-weight GGUFs quantized by llama.cpp.")
        {
            outOption, threads, architectures, types, textTokens, sampledTokens, rounded, text,
        };
        command.SetAction(parse => context.Execute(() =>
        {
            IConformanceArchitecture[] archs = Split(parse.GetValue(architectures)) is { Length: > 0 } names
                ? [.. names.Select(n => Wrap(() => ConformanceArchitectures.Get(n)))]
                : [.. ConformanceArchitectures.All];
            ConformanceVariant[] variants = Split(parse.GetValue(types)) is { Length: > 0 } typeNames
                ? [.. typeNames.Select(n => Wrap(() => ConformanceVariant.Get(n)))]
                : [.. ConformanceVariant.All];
            int textCount = parse.GetValue(textTokens), sampledCount = parse.GetValue(sampledTokens);
            CommonOptions.Positive(textCount, "--text-tokens");
            CommonOptions.Positive(sampledCount, "--sampled-tokens");
            string roundedCells = parse.GetValue(rounded)!;
            string content = parse.GetValue(text) is { } path ? TextInput.Read(path, "--text") : ConformanceTokens.DefaultText;
            var folder = OutputFolder.Prepare(parse.GetValue(outOption)!);
            int threadCount = CommonOptions.ResolveThreads(parse.GetValue(threads));
            string work = Path.Combine(Path.GetTempPath(), "qs-conformance-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(work);
            var results = new List<ConformanceResult>();
            try
            {
                foreach (IConformanceArchitecture arch in archs)
                {
                    string source = Path.Combine(work, arch.Name + "-f32-source.gguf");
                    arch.WriteGguf(source);
                    ConformanceTokens ids = ConformanceTokens.Build(source, content, textCount, sampledCount);
                    foreach (ConformanceVariant variant in variants)
                    {
                        ConformanceResult row = context.Reporter.Task($"{arch.Name} {variant.Name}", 1,
                            _ => ConformanceRunner.Run(arch, variant, source, work, ids,
                                withRoundedReference: roundedCells == "all" || (roundedCells == "float" && variant.PureType is GgufTensorType.F32 or GgufTensorType.F16 or GgufTensorType.BF16)));
                        results.Add(row);
                    }
                }
            }
            finally
            {
                try { Directory.Delete(work, recursive: true); } catch (IOException) { }
            }
            string markdown = Render(results, variants, textCount, sampledCount, threadCount);
            context.Publish(folder, "conformance", markdown, results);
            return results.All(r => r.Loads) ? ExitCodes.Success : ExitCodes.Failure;
        }));
        return command;
    }

    /// <summary>The matrix as Markdown, with the goals each row meets.</summary>
    internal static string Render(IReadOnlyList<ConformanceResult> results, IReadOnlyList<ConformanceVariant> variants, int textTokens, int sampledTokens, int threads)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("## Conformance: architecture × tensor type against llama.cpp");
        sb.AppendLine();
        sb.AppendLine(inv, $"Random-weight GGUFs written by our GgufWriter with converter metadata, quantized by llama.cpp's llama-quantize (LLamaSharp 0.30), logits at every position, {threads} threads. Our columns against llama.cpp use the default options (Q8_0/Q4_0 matrices kept in their blocks, 8-bit activations); the float64 goal is checked with QuantizeActivations = false. " +
            $"The sequence is BOS + {textTokens - 1} text bytes (\"PPL text\": out of distribution for a random model) then {sampledTokens} tokens sampled from the F32 model (\"PPL sampled\": in distribution, like natural text for a trained model). " +
            $"\"f64\" is a float64 forward on the same weights as llama.cpp decodes them; llama.cpp's own distance to it is what its 8-bit (or bf16/f16) matmul activations cost; " +
            $"\"f64 rounded like llama.cpp\" is that forward with every matmul input rounded as llama.cpp's CPU kernels round it (Q8_0 blocks for the 32-value quants, Q8_K for k-quants and IQ4_XS, f16/bf16 for F16/BF16).");
        sb.AppendLine();
        sb.AppendLine("| Architecture | Type | Tensor types written | Loads | max \\|Δlogit\\| vs llama.cpp | Argmax agreement | PPL sampled ours / llama.cpp | PPL text ours / llama.cpp | max \\|Δ\\| ours (float activations) vs f64 | max \\|Δ\\| ours (default) vs f64 | max \\|Δ\\| llama.cpp vs f64 | max \\|Δ\\| llama.cpp vs f64 rounded like llama.cpp | Goals |");
        sb.AppendLine("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (ConformanceResult r in results)
        {
            bool isFloat = variants.FirstOrDefault(v => v.Name == r.Variant)?.IsFloat ?? false;
            string loads = r.Loads ? "yes" : $"no: {r.Error}";
            sb.AppendLine(inv, $"| {r.Architecture} | {r.Variant} | {r.TensorTypes} | {loads} | {r.MaxDeltaVsLlamaCpp:G3} | {r.ArgmaxAgreement:P1} | {r.PerplexityRatio:F5} ({r.PerplexityOurs:G4}) | {r.TextPerplexityRatio:F5} ({r.TextPerplexityOurs:G4}) | {r.MaxDeltaVsFloat64:G3} | {r.DefaultMaxDeltaVsFloat64:G3} | {r.LlamaCppMaxDeltaVsFloat64:G3} | {r.LlamaCppMaxDeltaVsRounded:G3} | {Goals(r, isFloat)} |");
        }
        sb.AppendLine();
        ConformanceResult[] loaded = [.. results.Where(r => r.Loads)];
        if (loaded.Length > 0)
        {
            double ownWorst = loaded.Max(r => r.MaxDeltaVsFloat64);
            // Per type, the cells where the rounded reference ran (NaN: not run, see --rounded-reference) and those it reproduced.
            string[] perType = [.. loaded.Where(r => !double.IsNaN(r.LlamaCppMaxDeltaVsRounded)).GroupBy(r => r.Variant)
                .Select(g => $"{g.Key} {g.Count(r => r.LlamaCppMaxDeltaVsRounded < 1e-4)}/{g.Count()}")];
            sb.AppendLine(inv, $"Reading: with float activations our logits are within {ownWorst:G3} of the float64 forward in every cell; what separates us from llama.cpp is the rounding of matmul activations (llama.cpp's, and by default our own on kept-quantized Q8_0/Q4_0 matrices). " +
                $"The float64 forward rounding activations as llama.cpp does reproduces llama.cpp within 1e-4 in these cells (type: reproduced/measured): {(perType.Length > 0 ? string.Join(", ", perType) : "none measured")}; " +
                $"where it does not, llama.cpp's CPU path rounds in a way this emulation does not model (not investigated further).");
            sb.AppendLine();
        }
        sb.AppendLine("Near-tie flips: a position where llama.cpp's argmax differs from ours although ours is the exact (float64) argmax and the exact logits of the two tokens are closer than twice llama.cpp's max distance from them; its rounding can swap them, ours cannot. Any other flip counts as a miss.");
        sb.AppendLine();
        sb.AppendLine("Goals: F32/F16 — argmax 100 %, max |Δlogit| ≤ 0.02 and sampled perplexity within 0.1 % of llama.cpp; quantized (and BF16, whose matmul inputs llama.cpp rounds to bf16) — sampled perplexity within 1 % of llama.cpp; every type — max |Δ| ≤ 1e-3 from our float64 forward.");
        return sb.ToString();
    }

    /// <summary>"met", "met (n near-tie flips by llama.cpp's rounding)" or "MISSED".</summary>
    private static string Goals(ConformanceResult r, bool isFloat) =>
        r.MeetsGoals(isFloat) ? "met"
        : r.MeetsGoalsExceptNearTieFlips(isFloat) ? $"met but {r.ArgmaxFlips} argmax flip{(r.ArgmaxFlips == 1 ? "" : "s")} at near-ties llama.cpp's fp16 rounding swaps (ours = exact argmax)"
        : "MISSED";

    private static string[] Split(string? list) =>
        list is null ? [] : list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static T Wrap<T>(Func<T> lookup)
    {
        try
        {
            return lookup();
        }
        catch (ArgumentException e)
        {
            throw new CliException(e.Message, ExitCodes.UsageError, e);
        }
    }
}
