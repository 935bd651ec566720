using System.CommandLine;
using System.Globalization;
using System.Text;
using QuickSilver.Cli.Infrastructure;
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
        var sampledTokens = new Option<int>("--sampled-tokens") { Description = "Tokens sampled from the F32 model after the text (perplexity goal measured on these).", DefaultValueFactory = _ => 96 };
        var text = new Option<string?>("--text", "-t") { Description = "Text whose bytes become the text part (default: a built-in paragraph)." };
        var command = new Command("conformance", "Architecture × tensor type matrix against llama.cpp and a float64 reference, on random-weight GGUFs quantized by llama.cpp.")
        {
            outOption, threads, architectures, types, textTokens, sampledTokens, text,
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
                            _ => ConformanceRunner.Run(arch, variant, source, work, ids));
                        results.Add(row);
                    }
                }
            }
            finally
            {
                try { Directory.Delete(work, recursive: true); } catch (IOException) { }
            }
            string markdown = Render(results, variants, textCount, sampledCount, threadCount);
            var (md, js) = folder.WriteReport("conformance", markdown, results);
            context.Output.WriteLine(markdown);
            context.Output.WriteLine($"Results: {md}, {js}");
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
        sb.AppendLine(inv, $"Random-weight GGUFs written by our GgufWriter with converter metadata, quantized by llama.cpp's llama-quantize (LLamaSharp 0.30), logits at every position, {threads} threads. " +
            $"The sequence is BOS + {textTokens - 1} text bytes (\"PPL text\": out of distribution for a random model) then {sampledTokens} tokens sampled from the F32 model (\"PPL sampled\": in distribution, like natural text for a trained model). " +
            $"\"f64\" is a float64 forward on the same weights as llama.cpp decodes them; llama.cpp's own distance to it is what its 8-bit (or bf16/f16) matmul activations cost.");
        sb.AppendLine();
        sb.AppendLine("| Architecture | Type | Tensor types written | Loads | max \\|Δlogit\\| vs llama.cpp | Argmax agreement | PPL sampled ours / llama.cpp | PPL text ours / llama.cpp | max \\|Δ\\| ours vs f64 | max \\|Δ\\| llama.cpp vs f64 | Goals |");
        sb.AppendLine("|---|---|---|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (ConformanceResult r in results)
        {
            bool isFloat = variants.FirstOrDefault(v => v.Name == r.Variant)?.IsFloat ?? false;
            string loads = r.Loads ? "yes" : $"no: {r.Error}";
            sb.AppendLine(inv, $"| {r.Architecture} | {r.Variant} | {r.TensorTypes} | {loads} | {r.MaxDeltaVsLlamaCpp:G3} | {r.ArgmaxAgreement:P1} | {r.PerplexityRatio:F5} ({r.PerplexityOurs:G4}) | {r.TextPerplexityRatio:F5} ({r.TextPerplexityOurs:G4}) | {r.MaxDeltaVsFloat64:G3} | {r.LlamaCppMaxDeltaVsFloat64:G3} | {(r.MeetsGoals(isFloat) ? "met" : "MISSED")} |");
        }
        sb.AppendLine();
        ConformanceResult[] loaded = [.. results.Where(r => r.Loads)];
        if (loaded.Length > 0)
        {
            double ownWorst = loaded.Max(r => r.MaxDeltaVsFloat64);
            double gapWorst = loaded.Max(r => Math.Abs(r.MaxDeltaVsLlamaCpp - r.LlamaCppMaxDeltaVsFloat64));
            sb.AppendLine(inv, $"Reading: our logits are within {ownWorst:G3} of the float64 forward in every cell, so the difference from llama.cpp is llama.cpp's own distance from the exact result on the same weights (the two columns agree within {gapWorst:G3}): the rounding of activations inside its matmuls, not a decoding or model difference.");
            sb.AppendLine();
        }
        sb.AppendLine("Goals: F32/F16 — argmax 100 %, max |Δlogit| ≤ 0.02 and sampled perplexity within 0.1 % of llama.cpp; quantized (and BF16, whose matmul inputs llama.cpp rounds to bf16) — sampled perplexity within 1 % of llama.cpp; every type — max |Δ| ≤ 1e-3 from our float64 forward.");
        return sb.ToString();
    }

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
