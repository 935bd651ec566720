using System.Globalization;
using System.Text;

namespace QuickSilver.Cli.Bench;

internal static class BenchMarkdown
{
    private static string F(double v, int d = 2) => double.IsFinite(v) ? v.ToString($"F{d}", CultureInfo.InvariantCulture) : "n/a";
    private static string P(double v) => double.IsFinite(v) ? (v * 100).ToString("F1", CultureInfo.InvariantCulture) + "%" : "n/a";

    public static string Render(BenchResult r)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# QuickSilver bench").AppendLine();
        sb.AppendLine($"Date: {r.Date}. Machine: {r.Machine}. Runs per measurement: {r.Runs} (interleaved, medians with [min–max]).").AppendLine();

        sb.AppendLine("## Dense: achieved versus raw FLOP/s").AppendLine();
        if (r.Matmul is { } m)
        {
            sb.AppendLine($"Raw matmul (torch.nn.functional.linear, float32, {r.Tokens} rows), the four matmul shapes of one layer of {r.RandomModel}:").AppendLine();
            sb.AppendLine("| shape | (rows×inner)·(inner×cols) | GFLOP | median ms [min–max] | GFLOP/s |").AppendLine("|---|---|---:|---:|---:|");
            foreach (var s in m.Shapes)
                sb.AppendLine($"| {s.Name} | ({s.Rows}×{s.Inner})·({s.Inner}×{s.Cols}) | {F(s.Flops / 1e9, 3)} | {(s.Seconds with { Median = s.Seconds.Median * 1e3, Min = s.Seconds.Min * 1e3, Max = s.Seconds.Max * 1e3 }).Format("", 2)} | {F(s.GflopsPerSecond, 1)} |");
            sb.AppendLine($"| **layer total** | | {F(m.Flops / 1e9, 3)} | {F(m.Seconds.Median * 1e3)} | **{F(m.GflopsPerSecond, 1)}** |").AppendLine();
        }
        sb.AppendLine("| model | tokens | dense GFLOP (RuntimeStats.DenseFlops) | median s [min–max] | tokens/s | achieved GFLOP/s |").AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var p in new[] { r.DensePrefill, r.RealModelPrefill }.OfType<PrefillResult>())
            sb.AppendLine($"| {p.Model} | {p.Tokens} | {F(p.DenseFlops / 1e9, 3)} | {p.Seconds.Format()} | {F(p.TokensPerSecond, 1)} | {F(p.GflopsPerSecond, 1)} |");
        sb.AppendLine();
        if (r.AchievedOverRawRounds is { Count: > 0 } rounds)
            sb.AppendLine($"**Dense achieved / raw = {F(rounds.Median)}** [{F(rounds.Min)}–{F(rounds.Max)}] (goal ≥ 0.6): per round, a dense prefill and the same layer matmuls run bare (the four shapes once per layer), interleaved; ratio of their GFLOP/s.");
        else if (r.AchievedOverRaw is double ratio)
            sb.AppendLine($"**Dense achieved / raw = {F(ratio)}** (goal ≥ 0.6). Achieved counts only the layers' FLOPs (projections and attention), as the paper's J formula does; the raw figure is the layer's matmuls alone, so attention, norms, activations and dispatch make up the gap.").AppendLine();
        if (r.RealModelDecode is { } d)
            sb.AppendLine($"Greedy decode, {d.Model}: {F(d.TokensPerSecond, 1)} tokens/s over {d.DecodedTokens} tokens after a {d.PromptTokens}-token prompt (per-token seconds {d.SecondsPerToken.Format("", 5)}).").AppendLine();

        if (r.RealModelGenerate is { } g)
            sb.AppendLine($"InferenceSession.Generate (greedy, up to {r.RealModelDecode?.DecodedTokens ?? 0} tokens after a {g.PromptTokens}-token prompt): {g.GeneratedTokens} tokens, finish {g.FinishReason}, " +
                $"{(g.TokensPerSecond is double tps ? F(tps, 1) + " tokens/s after the first token" : "too few tokens for a rate")}.").AppendLine();
        sb.AppendLine("## Realization of prescribed profiles").AppendLine();
        sb.AppendLine("Realization = (time saved fraction) / (FLOPs saved fraction); FLOPs saved come from the runtime's measured counts (actual = layers + router) against dense. Target ≥ 0.8.").AppendLine();
        sb.AppendLine("| profile | what is prescribed | token-layers removed | FLOPs saved (router incl.) | dense s | policy s | time saved | **realization** median [min–max] |").AppendLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var p in r.Realization)
            sb.AppendLine($"| {p.Name} | {p.Description} | {P(p.RemovedTokenLayerFraction)} | {P(p.FlopsSavedFraction)} | {F(p.DenseSeconds.Median, 3)} | {F(p.PolicySeconds.Median, 3)} | {P(p.TimeSavedFraction.Median)} | **{F(p.Realization.Median)}** [{F(p.Realization.Min)}–{F(p.Realization.Max)}] |");
        sb.AppendLine();

        sb.AppendLine("## Overhead with nothing firing").AppendLine();
        sb.AppendLine("| configuration | router GFLOP | dense s | policy s | **time ratio** median [min–max] |").AppendLine("|---|---:|---:|---:|---:|");
        foreach (var p in new[] { r.Overhead, r.OverheadWithoutQuantization }.OfType<ProfileResult>())
            sb.AppendLine($"| {p.Description} | {F(p.RouterFlops / 1e9, 3)} | {F(p.DenseSeconds.Median, 3)} | {F(p.PolicySeconds.Median, 3)} | **{F(p.TimeRatio.Median, 3)}** [{F(p.TimeRatio.Min, 3)}–{F(p.TimeRatio.Max, 3)}] |");
        sb.AppendLine().AppendLine("Target ≤ 1.05. With quantization enabled the decision layer computes an exact logit-lens entropy (final norm + head over the full vocabulary) for every token, which is a real cost of the mechanism; the second row shows the overhead without it.").AppendLine();
        if (r.Notes.Count > 0)
        {
            sb.AppendLine("## Notes").AppendLine();
            foreach (var n in r.Notes) sb.AppendLine($"- {n}");
        }
        return sb.ToString();
    }
}
