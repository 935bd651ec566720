using QuickSilver.Cli.Bench;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine;
using QuickSilver.Engine.Runtime;
using TorchSharp;

namespace QuickSilver.Cli.Batch;

/// <summary>
/// The engine's batched forward on its own: aggregate greedy decode tokens/s of <c>B</c> sequences stepped together through
/// <see cref="ForwardRunner.RunBatch"/> against one sequence stepped alone, interleaved rounds in one process. Each round
/// rewinds the caches to their prompts, so every round does the same work.
/// </summary>
internal static class BatchDecodeProbe
{
    public sealed class Result
    {
        public required string Model { get; init; }
        public required string WeightFormats { get; init; }
        public int Threads { get; init; }
        public int Batch { get; init; }
        public int PromptTokens { get; init; }
        public int DecodeTokens { get; init; }
        public int Rounds { get; init; }
        public double SingleTokensPerSecond { get; init; }
        public double BatchTokensPerSecond { get; init; }
        public double Ratio { get; init; }
        public string Command { get; init; } = "";
        public string SingleProfile { get; init; } = "";
        public string BatchProfile { get; init; } = "";
    }

    public static Result Run(string path, int threads, int batch, int promptTokens, int decodeTokens, int rounds, Reporter reporter, string command)
    {
        using var model = EngineLoading.Load(path, new LanguageModelOptions { Threads = threads });
        using var noGrad = torch.no_grad();
        int length = promptTokens + decodeTokens + 1;
        var caches = Enumerable.Range(0, batch).Select(_ => new KvCache(model.Config, length, model.Transformer.Device, length)).ToArray();
        try
        {
            var first = new int[batch];
            for (int i = 0; i < batch; i++)
            {
                var prompt = Prefill.RandomTokens(promptTokens, model.Config.VocabSize - 3, seed: 11 + i).Select(t => t + 3).ToArray();
                using var output = model.Runner.Run(new ForwardInput { TokenIds = prompt, Cache = caches[i] });
                first[i] = Argmax(output.Logits);
            }

            void Decode(int count)
            {
                var next = new int[count];
                for (int i = 0; i < count; i++) { caches[i].TruncateFrom(promptTokens); next[i] = first[i]; }
                for (int step = 0; step < decodeTokens; step++)
                {
                    var inputs = Enumerable.Range(0, count).Select(i => new ForwardInput { TokenIds = [next[i]], StartPosition = caches[i].Length, Cache = caches[i] }).ToArray();
                    var outputs = count == 1 ? [model.Runner.Run(inputs[0])] : model.Runner.RunBatch(inputs);
                    for (int i = 0; i < count; i++)
                    {
                        next[i] = Argmax(outputs[i].Logits);
                        outputs[i].Dispose();
                    }
                }
            }

            var times = reporter.Task($"Decode: 1 vs {batch} sequences", rounds, p => Timing.Interleaved(rounds, [() => Decode(1), () => Decode(batch)], r => p(r)));
            string Profile(int count)
            {
                OpProfile.Reset();
                OpProfile.Enabled = true;
                double seconds = Timing.Seconds(() => Decode(count));
                OpProfile.Enabled = false;
                var ops = OpProfile.Snapshot();
                double timed = ops.Values.Sum(o => o.Seconds);
                return string.Join("; ", ops.OrderByDescending(o => o.Value.Seconds).Select(o => $"{o.Key} {o.Value.Seconds * 1000 / decodeTokens:F1} ms"))
                    + $"; everything else {(seconds - timed) * 1000 / decodeTokens:F1} ms (per step)";
            }
            string singleProfile = Profile(1), batchProfile = Profile(batch);
            double single = decodeTokens / Summary.Of(times[0]).Median;
            double batched = (double)batch * decodeTokens / Summary.Of(times[1]).Median;
            return new Result
            {
                Model = Path.GetFileName(path),
                WeightFormats = string.Join(", ", model.Transformer.Matrices.GroupBy(m => m.Format).Select(g => $"{g.Key}×{g.Count()}")),
                Threads = threads, Batch = batch, PromptTokens = promptTokens, DecodeTokens = decodeTokens, Rounds = rounds,
                SingleTokensPerSecond = single, BatchTokensPerSecond = batched, Ratio = batched / single, Command = command,
                SingleProfile = singleProfile, BatchProfile = batchProfile,
            };
        }
        finally
        {
            foreach (var cache in caches) cache.Dispose();
        }
    }

    public static string Render(Result r) =>
        $"# Batched decode probe\n\n`{r.Command}`\n\n" +
        $"{r.Model} ({r.WeightFormats}), {r.Threads} threads, {r.PromptTokens}-token prompts, {r.DecodeTokens} greedy steps, median of {r.Rounds} interleaved rounds.\n\n" +
        "| sequences | aggregate decode tok/s |\n|---|---|\n" +
        $"| 1 | {r.SingleTokensPerSecond:F1} |\n| {r.Batch} | {r.BatchTokensPerSecond:F1} |\n\n" +
        $"Ratio {r.Batch} ÷ 1: **{r.Ratio:F2}×**\n\n" +
        $"Time per step by operation (one profiled round each): 1 sequence: {r.SingleProfile}. {r.Batch} sequences: {r.BatchProfile}.\n";

    private static int Argmax(torch.Tensor logits)
    {
        using var index = logits.reshape(-1).argmax();
        return (int)index.item<long>();
    }
}
