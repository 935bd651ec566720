using System.CommandLine;
using System.Globalization;
using System.Text;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine;
using QuickSilver.Engine.Evaluation;
using QuickSilver.Policies;

namespace QuickSilver.Cli.Commands;

/// <summary>The result of one perplexity evaluation, as written to ppl.json.</summary>
internal sealed record PplReport(
    string Model, string Text, string Policy, int Window, int Stride, int? MaxTokens, double Perplexity, double MeanNll,
    long ScoredTokens, long TotalTokens, long RescoredAbsorbed, double Seconds, double TokensPerSecond,
    double DenseFlops, double ActualFlops, double RouterFlops, double FlopsReduction, long HaltedTokenLayers, long FusedTokenLayers, long ActiveTokenLayers,
    double PaperFlopsReduction);

internal static class PplCommand
{
    public static Command Create(CommandContext context)
    {
        var outOption = CommonOptions.Out("ppl");
        var threads = CommonOptions.Threads();
        var model = CommonOptions.Model(true);
        var text = new Option<string?>("--text", "-t") { Description = "UTF-8 text file to evaluate.", Required = true };
        var window = new Option<int>("--window") { Description = "Window length in tokens (at most the model's context).", DefaultValueFactory = _ => 256 };
        var stride = new Option<int>("--stride") { Description = "Tokens between window starts (each window scores only its new tokens).", DefaultValueFactory = _ => 128 };
        var policy = CommonOptions.Policy();
        var maxTokens = new Option<int?>("--max-tokens") { Description = "Evaluate only the first N tokens of the text." };
        var command = new Command("ppl", "Sliding-window perplexity of a model on a text file, dense or under a policy.")
        {
            outOption, threads, model, text, window, stride, policy, maxTokens,
        };
        command.SetAction(parse => context.Execute(() =>
        {
            int w = parse.GetValue(window), s = parse.GetValue(stride);
            int? max = parse.GetValue(maxTokens);
            CheckWindow(w, s, max);
            string modelSpec = parse.GetValue(model)!;
            ModelLoader.Check(modelSpec);
            string textPath = parse.GetValue(text)!;
            string content = TextInput.Read(textPath, "--text");
            var resolved = PolicyCatalog.Resolve(parse.GetValue(policy));
            var folder = OutputFolder.Prepare(parse.GetValue(outOption)!);
            int n = CommonOptions.ResolveThreads(parse.GetValue(threads));
            using var lm = context.Reporter.Task($"Loading {modelSpec}", 1, _ => ModelLoader.Load(modelSpec, n));
            var report = Evaluate(lm, modelSpec, textPath, content, w, s, resolved, max, context.Reporter);
            var markdown = Render([report]);
            context.Publish(folder, "ppl", markdown, report);
            return ExitCodes.Success;
        }));
        return command;
    }

    public static void CheckWindow(int window, int stride, int? maxTokens)
    {
        if (window < 2) throw new CliException($"--window must be at least 2 (got {window}).");
        if (stride < 1 || stride > window) throw new CliException($"--stride must be in [1, --window] (got {stride} with window {window}).");
        if (maxTokens is int m && m < 2) throw new CliException($"--max-tokens must be at least 2 (got {m}).");
    }

    public static PplReport Evaluate(LanguageModel lm, string modelName, string textName, string text, int window, int stride, QuickSilverPolicy policy, int? maxTokens, Reporter reporter, IReadOnlyList<int>? tokenIds = null)
    {
        if (window > lm.Config.MaxPositions) throw new CliException($"--window {window} exceeds the model's context of {lm.Config.MaxPositions} tokens.");
        var ids = tokenIds?.ToList() ?? lm.Tokenizer.Encode(text, addBos: true).ToList();
        if (maxTokens is int m && ids.Count > m) ids = ids.GetRange(0, m);
        if (ids.Count < 2) throw new CliException($"Text '{textName}' has fewer than two tokens.");
        var evaluator = new PerplexityEvaluator(lm);
        var r = reporter.Task($"Perplexity ({policy.Name}) over {ids.Count} tokens", 1, _ => evaluator.EvaluateTokens(ids, window, stride, policy.IsDense ? null : policy));
        var st = r.Stats;
        return new PplReport(modelName, textName, policy.Name, window, stride, maxTokens, r.Perplexity, r.MeanNll, r.ScoredTokens, r.TotalTokens, r.RescoredAbsorbed,
            r.Seconds, r.TokensPerSecond, st.DenseFlops, st.ActualFlops, st.RouterFlops, st.DenseFlops > 0 ? st.FlopsReduction : 0,
            st.HaltedTokenLayers, st.FusedTokenLayers, st.ActiveTokenLayers, r.PaperStats.DenseFlops > 0 ? r.PaperStats.FlopsReduction : 0);
    }

    public static string Render(IEnumerable<PplReport> reports)
    {
        static string F(double v, int d) => v.ToString($"F{d}", CultureInfo.InvariantCulture);
        var sb = new StringBuilder("# Perplexity\n\n");
        sb.AppendLine("| model | text | policy | window/stride | tokens scored | PPL | mean NLL | FLOPs reduction (every pass, router incl.) | paper's accounting (re-scoring passes left out) | re-scored from prefix | tokens/s |");
        sb.AppendLine("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in reports)
            sb.AppendLine($"| {r.Model} | {Path.GetFileName(r.Text)} | {r.Policy} | {r.Window}/{r.Stride} | {r.ScoredTokens} | {F(r.Perplexity, 4)} | {F(r.MeanNll, 4)} | {F(r.FlopsReduction * 100, 2)}% | {F(r.PaperFlopsReduction * 100, 2)}% | {r.RescoredAbsorbed} | {F(r.TokensPerSecond, 1)} |");
        sb.AppendLine().AppendLine("Each window scores only the tokens no earlier window scored; positions whose state depends on a later token (absorbed by fusion, or inside a non-adjacent fused pair) are re-scored from their own prefix under the same policy, never from merged states. Those prefix passes are the method's cost and count in the FLOPs reduction; the paper's accounting, which treats absorbed tokens as simply stopped, is the separate column.");
        return sb.ToString();
    }
}
