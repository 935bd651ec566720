using System.Diagnostics;
using Microsoft.Extensions.AI;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine;
using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Runtime;
using QuickSilver.Engine.Scheduling;
using QuickSilver.Extensions.AI;

namespace QuickSilver.Cli.Batch;

/// <summary>
/// Continuous batching on the user's path: aggregate decode tokens/s of 1, 2, 4 and 8 concurrent chat requests through
/// <see cref="IChatClient"/> (continuous batching in the client's scheduler), and the same through the engine's
/// <see cref="BatchScheduler"/> alone (generators with a fixed token count, no client). Rounds interleave the concurrency
/// levels in one process. Aggregate = all output tokens ÷ wall time from submission to the last reply; decode-only = tokens
/// that arrived once every request had its first token (all prompts prefilled) ÷ the time from then to the last reply;
/// per CPU-second = all output tokens ÷ the process's CPU time over the same span (a load-independent view of the work a
/// token costs, for a shared machine where wall time depends on what else runs). Through the client every level sees its
/// prompts in the same cache state: warm by default (each prompt's K/V kept from the warm-up under its own conversation id,
/// so the levels compare decode), or cold (a fresh conversation per request, every prompt prefilled).
/// </summary>
internal static class ClientBatchProbe
{
    public sealed class Level
    {
        public int Concurrency { get; init; }
        public double TokensPerSecond { get; init; }
        public double DecodeTokensPerSecond { get; init; }
        public double TokensPerCpuSecond { get; init; }
        public double Tokens { get; init; }

        /// <summary>With --profile: per operation, seconds per output token (last round), and the calls.</summary>
        public Dictionary<string, double>? MsPerToken { get; init; }
    }

    public sealed class Result
    {
        public required string Model { get; init; }
        public required string WeightFormats { get; init; }
        public int Threads { get; init; }
        public int DecodeTokens { get; init; }
        public int Rounds { get; init; }
        public List<Level> Client { get; init; } = [];
        public List<Level> Engine { get; init; } = [];
        public string Command { get; init; } = "";

        /// <summary>"warm" (each prompt's K/V kept from the warm-up, no prefill) or "cold" (every request prefills its prompt).</summary>
        public string PromptState { get; init; } = "warm";

        /// <summary>Whether the client drafted by prompt lookup (its default) on every level.</summary>
        public bool PromptLookup { get; init; } = true;

        /// <summary>Aggregate tok/s with the most concurrent requests through the client ÷ one request.</summary>
        public double ClientRatio => Ratio(Client, l => l.TokensPerSecond);

        /// <summary>The same, decode only.</summary>
        public double ClientDecodeRatio => Ratio(Client, l => l.DecodeTokensPerSecond);

        /// <summary>Output tokens per CPU-second with the most concurrent requests through the client ÷ one request.</summary>
        public double ClientCpuRatio => Ratio(Client, l => l.TokensPerCpuSecond);

        /// <summary>Aggregate tok/s with the most concurrent generators on the engine's scheduler ÷ one.</summary>
        public double EngineRatio => Ratio(Engine, l => l.TokensPerSecond);

        /// <summary>The same, decode only.</summary>
        public double EngineDecodeRatio => Ratio(Engine, l => l.DecodeTokensPerSecond);

        private static double Ratio(List<Level> levels, Func<Level, double> value) => levels.Count < 2 ? double.NaN : value(levels[^1]) / value(levels[0]);
    }

    private static readonly string[] Prompts =
    [
        "Once upon a time there was a little girl who liked to play in the garden with her dog.",
        "Write a short note to the team about the meeting moved to Thursday afternoon.",
        "The weather today is sunny with a light breeze from the west and no rain expected.",
        "List three things to pack for a weekend trip to the mountains in early spring.",
        "A farmer had many animals: cows, sheep, goats, chickens and one very old horse.",
        "Explain in one paragraph why the sky looks blue during the day and red at sunset.",
        "The library opens at nine and closes at six, except on Sundays when it is closed.",
        "Summarize the story of a boy who finds a map and follows it to the sea shore.",
    ];

    public static Result Run(string path, int threads, int[] levels, int decodeTokens, int rounds, bool engineToo, Reporter reporter, string command, bool profile = false, bool coldPrompts = false, bool promptLookup = true)
    {
        using var model = EngineLoading.Load(path, new LanguageModelOptions { Threads = threads });
        int max = levels.Max();
        // Every level sees its prompts in the same cache state: warm (default), each prompt's K/V kept from the warm-up under its
        // own conversation id (a session per prompt), so a request prefills nothing and the levels compare decode; or cold, a
        // fresh conversation id per request, so every request prefills its whole prompt. (Before, the one request reused the
        // warm-up's session while most of the eight prefilled: the ratio compared a prefill-free request with prefilling ones.)
        using var client = new QuickSilverChatClient(model, new QuickSilverOptions { Policy = "dense", Template = "plain", MaxBatchSize = max, Threads = threads, MaxCachedConversations = Math.Max(4, max), PromptLookup = promptLookup });
        Func<int, string> conversation = coldPrompts ? _ => Guid.NewGuid().ToString("N") : i => $"batch-probe-{i % Prompts.Length}";
        using var scheduler = engineToo ? new BatchScheduler(model, new BatchSchedulerOptions { MaxBatchSize = max }) : null;

        var clientSamples = levels.Select(_ => new List<(double All, double Decode, double Cpu, double Tokens)>()).ToArray();
        var engineSamples = levels.Select(_ => new List<(double All, double Decode, double Cpu, double Tokens)>()).ToArray();
        var profiles = new Dictionary<string, double>?[levels.Length];
        // Warm-up: one request each way (JIT, weight pages, row buffers).
        ThroughClient(client, max, Math.Min(4, decodeTokens), conversation);
        if (scheduler is not null) ThroughEngine(model, scheduler, 1, Math.Min(4, decodeTokens));
        reporter.Task($"Concurrent requests {string.Join(", ", levels)}", rounds, progress =>
        {
            for (int round = 0; round < rounds; round++)
            {
                for (int i = 0; i < levels.Length; i++)
                {
                    if (profile) { OpProfile.Reset(); OpProfile.Enabled = true; OpProfile.ThreadCpuTime = threads == 1; }
                    var sample = ThroughClient(client, levels[i], decodeTokens, conversation);
                    clientSamples[i].Add(sample);
                    if (profile)
                    {
                        OpProfile.Enabled = false;
                        profiles[i] = OpProfile.Snapshot().ToDictionary(p => $"{p.Key} ({p.Value.Calls / Math.Max(1, sample.Tokens):F1} calls/token)", p => p.Value.Seconds * 1e3 / Math.Max(1, sample.Tokens));
                    }
                    if (scheduler is not null) engineSamples[i].Add(ThroughEngine(model, scheduler, levels[i], decodeTokens));
                }
                progress(round + 1);
            }
            return 0;
        });
        static List<Level> Reduce(int[] levels, List<(double All, double Decode, double Cpu, double Tokens)>[] samples, Dictionary<string, double>?[]? profiles = null) => samples[0].Count == 0 ? [] :
            levels.Select((c, i) => new Level
            {
                Concurrency = c,
                TokensPerSecond = Summary.Of([.. samples[i].Select(s => s.All)]).Median,
                DecodeTokensPerSecond = Summary.Of([.. samples[i].Select(s => s.Decode)]).Median,
                TokensPerCpuSecond = Summary.Of([.. samples[i].Select(s => s.Cpu)]).Median,
                Tokens = Summary.Of([.. samples[i].Select(s => s.Tokens)]).Median,
                MsPerToken = profiles?[i],
            }).ToList();
        return new Result
        {
            Model = Path.GetFileName(path),
            WeightFormats = string.Join(", ", model.Transformer.Matrices.GroupBy(m => m.Format).Select(g => $"{g.Key}×{g.Count()}")),
            Threads = threads, DecodeTokens = decodeTokens, Rounds = rounds, Command = command, PromptState = coldPrompts ? "cold" : "warm", PromptLookup = promptLookup,
            Client = Reduce(levels, clientSamples, profiles), Engine = Reduce(levels, engineSamples),
        };
    }

    /// <summary><paramref name="count"/> concurrent chat requests; returns aggregate and decode-only tok/s and the tokens made.</summary>
    private static (double All, double Decode, double Cpu, double Tokens) ThroughClient(IChatClient client, int count, int decodeTokens, Func<int, string> conversation)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var arrivals = Enumerable.Range(0, count).Select(_ => new List<double>()).ToArray();
        var tasks = Enumerable.Range(0, count).Select(i => Task.Run(async () =>
        {
            long tokens = 0;
            await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, Prompts[i % Prompts.Length])], new ChatOptions { MaxOutputTokens = decodeTokens, ConversationId = conversation(i) }))
            {
                // A streamed text update is one token's text (held-back text is rare): its arrival time stands for the token's.
                if (update.Text.Length > 0) arrivals[i].Add(clock.Elapsed.TotalSeconds);
                if (update.Contents.OfType<UsageContent>().FirstOrDefault() is { } usage) tokens = usage.Details.OutputTokenCount ?? 0;
            }
            return tokens;
        })).ToArray();
        long[] made = Task.WhenAll(tasks).GetAwaiter().GetResult();
        double end = clock.Elapsed.TotalSeconds, total = made.Sum();
        return (total / end, DecodeOnly(arrivals, end, made), total / CpuSeconds(cpu), total);
    }

    /// <summary><paramref name="count"/> concurrent generators on the engine's scheduler (fixed token counts, no client).</summary>
    private static (double All, double Decode, double Cpu, double Tokens) ThroughEngine(LanguageModel model, BatchScheduler scheduler, int count, int decodeTokens)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var arrivals = Enumerable.Range(0, count).Select(_ => new List<double>()).ToArray();
        var tasks = Enumerable.Range(0, count).Select(i =>
        {
            var prompt = model.Tokenizer.Encode(Prompts[i % Prompts.Length], addBos: true);
            var request = new GenerationRequest { MaxNewTokens = decodeTokens, IgnoreEndOfSequence = true };
            var tokens = scheduler.Submit(() => new Generator(model, model.CreateSequence(new SequenceOptions { ContextLength = prompt.Count + decodeTokens + 1 }), prompt, request), prompt.Count + decodeTokens);
            return Task.Run(async () =>
            {
                long made = 0;
                await foreach (var _ in tokens)
                {
                    arrivals[i].Add(clock.Elapsed.TotalSeconds);
                    made++;
                }
                return made;
            });
        }).ToArray();
        long[] made = Task.WhenAll(tasks).GetAwaiter().GetResult();
        double end = clock.Elapsed.TotalSeconds, total = made.Sum();
        return (total / end, DecodeOnly(arrivals, end), total / CpuSeconds(cpu), total);
    }

    private static double CpuSeconds(TimeSpan start) => Math.Max(1e-9, (Process.GetCurrentProcess().TotalProcessorTime - start).TotalSeconds);

    /// <summary>
    /// Decode-only throughput: tokens that arrived after every request had its first token (all prompts prefilled) ÷ the
    /// time from then to the end; NaN when no token came after that moment.
    /// </summary>
    /// <remarks>
    /// Through the client, arrivals are text updates, and a token that completes no character shows none: each request's
    /// updates after that moment are scaled to its token count (<paramref name="tokens"/>).
    /// </remarks>
    private static double DecodeOnly(List<double>[] arrivals, double end, long[]? tokens = null)
    {
        if (arrivals.Any(a => a.Count == 0)) return double.NaN;
        double start = arrivals.Max(a => a[0]);
        double after = 0;
        for (int i = 0; i < arrivals.Length; i++)
        {
            int later = arrivals[i].Count(t => t > start);
            after += tokens is null ? later : (double)later * tokens[i] / arrivals[i].Count;
        }
        return after == 0 || end <= start ? double.NaN : after / (end - start);
    }

    public static string Render(Result r)
    {
        var text = new System.Text.StringBuilder();
        text.Append($"# Continuous batching probe\n\n`{r.Command}`\n\n");
        text.Append($"{r.Model} ({r.WeightFormats}), {r.Threads} threads, up to {r.DecodeTokens} output tokens per request, median of {r.Rounds} interleaved rounds, {r.PromptState} prompts through the client ({(r.PromptState == "warm" ? "each prompt's K/V kept from the warm-up: the levels compare decode" : "every request prefills its whole prompt")}), prompt-lookup drafting {(r.PromptLookup ? "on (the client's default)" : "off on every level (plain decode)")}.\n\n");
        void Table(string title, List<Level> levels)
        {
            if (levels.Count == 0) return;
            text.Append($"## {title}\n\n| concurrent requests | aggregate tok/s | decode-only tok/s | tok per CPU-s | tokens |\n|---|---|---|---|---|\n");
            foreach (var l in levels) text.Append($"| {l.Concurrency} | {l.TokensPerSecond:F1} | {l.DecodeTokensPerSecond:F1} | {l.TokensPerCpuSecond:F1} | {l.Tokens:F0} |\n");
            text.Append('\n');
        }
        Table("Through IChatClient", r.Client);
        if (r.Client.Any(l => l.MsPerToken is not null))
        {
            // Operation times (OpProfile: thread CPU time with 1 thread, else wall time of the calling thread) per output token.
            var ops = r.Client.Where(l => l.MsPerToken is not null).SelectMany(l => l.MsPerToken!.Keys.Select(k => k[..k.LastIndexOf(" (", StringComparison.Ordinal)])).Distinct().ToList();
            text.Append("## Operations through IChatClient, ms per output token (calls per token)\n\n| operation | " + string.Join(" | ", r.Client.Select(l => l.Concurrency)) + " |\n|---|" + string.Concat(r.Client.Select(_ => "---|")) + "\n");
            foreach (var op in ops.OrderByDescending(o => r.Client[^1].MsPerToken?.Where(p => p.Key.StartsWith(o + " (", StringComparison.Ordinal)).Sum(p => p.Value) ?? 0))
            {
                text.Append($"| {op} |");
                foreach (var l in r.Client)
                {
                    var hit = l.MsPerToken?.FirstOrDefault(p => p.Key.StartsWith(op + " (", StringComparison.Ordinal));
                    text.Append(hit is { Key: not null } h ? $" {h.Value:F2}{h.Key[h.Key.LastIndexOf(" (", StringComparison.Ordinal)..].Replace(" calls/token", "", StringComparison.Ordinal)} |" : " – |");
                }
                text.Append('\n');
            }
            text.Append('\n');
        }
        Table("Engine scheduler only (fixed token counts)", r.Engine);
        text.Append($"Ratio {r.Client.LastOrDefault()?.Concurrency} ÷ 1 through the client: **{r.ClientRatio:F2}×** aggregate, {r.ClientDecodeRatio:F2}× decode-only, {r.ClientCpuRatio:F2}× per CPU-second.");
        if (r.Engine.Count > 0) text.Append($" Engine scheduler only: {r.EngineRatio:F2}× aggregate, {r.EngineDecodeRatio:F2}× decode-only.");
        return text.Append('\n').ToString();
    }
}
