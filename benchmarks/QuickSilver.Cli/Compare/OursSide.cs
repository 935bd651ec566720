using QuickSilver.Cli.Bench;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine.Evaluation;
using QuickSilver.Engine.Runtime;

namespace QuickSilver.Cli.Compare;

/// <summary>The QuickSilver side: our engine (TorchSharp, float32) on the same file, dense and under a policy.</summary>
internal static class OursSide
{
    public const string Description =
        "QuickSilver engine (TorchSharp CPU, weights dequantized to float32); prefill = one forward pass over the prompt into a fresh K/V cache, logits for the last position; " +
        "decode = one forward pass per token on the cache with greedy argmax on the host; perplexity = PerplexityEvaluator (sliding windows; absorbed positions re-scored from their prefix).";

    public static SideResult Run(CompareSettings s, Reporter reporter)
    {
        var result = new SideResult { Side = "quicksilver", Computes = Description };
        try
        {
            string text = TextInput.Read(s.Text, "--text");
            var policy = PolicyCatalog.Resolve(s.Policy);
            using var lm = reporter.Task("QuickSilver: loading", 1, _ => ModelLoader.Load(s.Model, s.Threads));
            var all = lm.Tokenizer.Encode(text, addBos: true).ToList();
            result.TextTokens = all.Count;
            var prompt = Repeat(all, Math.Min(s.PromptTokens, lm.Config.MaxPositions));
            result.PrefillTokens = prompt.Count;
            using var dense = new Prefill(lm, prompt);
            using var routed = new Prefill(lm, prompt, policy.IsDense ? null : new RoutingPlan(policy, lm.Config), policy.IsDense ? null : lm.ResolveProtectedIds(new RoutingPlan(policy, lm.Config), null).FlagsFor(prompt));
            var times = reporter.Task($"QuickSilver: prefill {prompt.Count} tokens, dense and {policy.Name}", s.Runs, p =>
                Timing.Interleaved(s.Runs, [() => dense.Run(), () => routed.Run()], r => p(r)));
            result.PrefillSeconds = Summary.Of(times[0]);
            result.PolicyName = policy.Name;
            result.PolicyPrefillSeconds = Summary.Of(times[1]);
            result.PolicyFlopsReduction = routed.Run() is { DenseFlops: > 0 } st ? st.FlopsReduction : 0;

            var decode = reporter.Task($"QuickSilver: decode {s.DecodeTokens} tokens", s.DecodeTokens, p => BenchRunner.Decode(lm, "model", s.DecodeTokens, 7, p, s.DecodePromptTokens, all));
            result.DecodeTokens = decode.DecodedTokens;
            result.DecodeSecondsPerToken = decode.SecondsPerToken;

            var ids = all.Take(s.MaxTokens).ToList();
            var evaluator = new PerplexityEvaluator(lm);
            var densePpl = reporter.Task($"QuickSilver: perplexity over {ids.Count} tokens", 1, _ => evaluator.EvaluateTokens(ids, s.Window, s.Stride));
            result.Perplexity = densePpl.Perplexity;
            result.ScoredTokens = densePpl.ScoredTokens;
            if (!policy.IsDense)
                result.PolicyPerplexity = reporter.Task($"QuickSilver: perplexity ({policy.Name})", 1, _ => evaluator.EvaluateTokens(ids, s.Window, s.Stride, policy)).Perplexity;
            result.Ok = true;
        }
        catch (Exception e) when (e is CliException or QuickSilverException or IOException or ArgumentException or InvalidOperationException)
        {
            result.Ok = false;
            result.Error = e.Message;
        }
        result.PeakRssBytes = MachineInfo.PeakRssBytes();
        return result;
    }

    private static List<int> Repeat(List<int> tokens, int count)
    {
        var list = new List<int>(count);
        while (list.Count < count) list.AddRange(tokens.Take(count - list.Count));
        return list;
    }
}
