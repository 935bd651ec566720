using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using QuickSilver.Cli.Bench;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine;
using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Runtime;
using QuickSilver.Engine.Speculative;
using QuickSilver.Extensions.AI.Constraints;

namespace QuickSilver.Cli.Commands;

/// <summary>
/// <c>quicksilver accel-probe</c>: where the time of the lossless accelerations goes. Drives the generator step by step and
/// splits each variant's time into proposing (drafts, forced tokens), the model's step and consuming the logits (processors,
/// sampler, criteria), with the row path's per-operation profile; plain decoding beside it on the same prompts.
/// </summary>
internal static class AccelProbeCommand
{
    public static Command Create(CommandContext context)
    {
        var model = new Option<string?>("--model", "-m") { Description = "Model for the speculative probe (default: the shared stories260K)." };
        var jumpModel = new Option<string>("--jump-model") { Description = "Model for the jump-forward probe.", DefaultValueFactory = _ => ModelLoader.RandomTiny };
        var tokens = new Option<int>("--tokens") { Description = "Greedy tokens per agent prompt.", DefaultValueFactory = _ => 64 };
        var runs = new Option<int>("--runs") { Description = "Rounds (after one warm-up).", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { Description = "Threads.", DefaultValueFactory = _ => 2 };
        var what = new Option<string>("--what") { Description = "spec, jump, both, client (the speculative variants through IChatClient), or oracle (each prompt's plain greedy output and the steps drafting could save).", DefaultValueFactory = _ => "both" };
        var toolCall = new Option<bool>("--tool-call") { Description = "oracle: generate each output as a send_note(text) tool call under the tool-call constraint (canonical forced spans, no jump-forward)." };
        var prompt = new Option<string[]>("--prompt") { Description = "Agent prompts for spec, client and oracle (repeatable; default: the bench's agent prompts).", AllowMultipleArgumentsPerToken = false };
        var command = new Command("accel-probe", "Profiles speculative decoding and jump-forward: propose / model step / consume, per variant.");
        foreach (var option in new Option[] { model, jumpModel, tokens, runs, threads, what, prompt, toolCall }) command.Options.Add(option);
        command.SetAction(parse => context.Execute(() =>
        {
            int n = parse.GetValue(tokens), r = parse.GetValue(runs), t = parse.GetValue(threads);
            CommonOptions.Positive(n, "--tokens");
            CommonOptions.Positive(r, "--runs");
            string w = parse.GetValue(what)!;
            if (w is not ("spec" or "jump" or "both" or "client" or "oracle" or "attend")) throw new CliException("--what must be spec, jump, both, client, oracle or attend.", ExitCodes.UsageError);
            if (w is "attend")
            {
                context.Output.WriteLine(AttendCost());
                return ExitCodes.Success;
            }
            string[] prompts = parse.GetValue(prompt) is { Length: > 0 } given ? given : AccelerationBench.AgentPrompts;
            if (w is "client" or "oracle")
            {
                string path = parse.GetValue(model) ?? SharedPaths.Stories260KBin ?? throw new CliException("No --model and no shared stories260K.");
                using var lm = ModelLoader.Load(path, t);
                context.Output.WriteLine(w is "client" ? Client(lm, n, r, prompts) : Oracles(lm, n, prompts, parse.GetValue(toolCall)));
                return ExitCodes.Success;
            }
            if (w is "spec" or "both")
            {
                string path = parse.GetValue(model) ?? SharedPaths.Stories260KBin ?? throw new CliException("No --model and no shared stories260K.");
                using var lm = ModelLoader.Load(path, t);
                context.Output.WriteLine(Speculative(lm, n, r, prompts));
                var notes = new List<string>();
                context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench speculative_speedup_agent = {AccelerationBench.SpeculativeSpeedup(lm, n, r, notes)}; {string.Join(' ', notes)}"));
            }
            if (w is "jump" or "both")
            {
                using var lm = ModelLoader.Load(parse.GetValue(jumpModel)!, t);
                context.Output.WriteLine(Jump(lm, r));
                var notes = new List<string>();
                context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench jump_forward_speedup = {AccelerationBench.JumpForwardSpeedup(lm, r, notes)}; {string.Join(' ', notes)}"));
            }
            return ExitCodes.Success;
        }));
        return command;
    }

    private sealed class Split
    {
        public double Propose, Step, Advance, Prefill;
        public List<double> Rounds { get; } = [];

        /// <summary>Per step index (0 = prefill), the least CPU time any round spent on it: an estimate of the idle machine.</summary>
        public List<double> StepMins { get; } = [];

        public double MinSum => StepMins.Sum();

        /// <summary>Step index within the current round (reset per round).</summary>
        public int Cursor;

        public void RecordStep(int index, double seconds)
        {
            while (StepMins.Count <= index) StepMins.Add(double.MaxValue);
            StepMins[index] = Math.Min(StepMins[index], seconds);
        }

        public double Total => Propose + Step + Advance;

        // The least-disturbed round: on a loaded machine other processes only ever add time (and evict caches).
        public double Best => Rounds.Count == 0 ? Total : Rounds.Min();
        public long Steps, Rows, Tokens, Drafted, Accepted, Forced;

        public string Line(string name) => string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {1e3 * (Propose + Step + Advance):F1} | {1e3 * Propose:F1} | {1e3 * Step:F1} | {1e3 * Advance:F1} | {Steps} | {Rows} | {Tokens} | {Drafted}/{Accepted} | {Forced} | {1e6 * Step / Math.Max(1, Steps):F0} |");
    }

    private const string Header = "| variant | decode CPU ms | propose | model step | advance | steps | rows | tokens | drafted/accepted | forced | µs/step |\n|---|---|---|---|---|---|---|---|---|---|---|";

    /// <summary>Runs <paramref name="generator"/> step by step, adding each phase's time to <paramref name="split"/> (prefill apart).</summary>
    private static List<int> Drive(LanguageModel model, Generator generator, Split split)
    {
        long t0 = Now();
        bool prefilled = false;
        while (true)
        {
            long a = Now();
            var step = generator.NextStep();
            if (step is not { } s) break;
            long b = Now();
            var logits = model.Decode([s])[0];
            long c = Now();
            var emitted = generator.Advance(logits);
            long e = Now();
            split.RecordStep(split.Cursor++, Seconds(e - a));
            if (!prefilled)
            {
                split.Prefill += Seconds(e - a);
                prefilled = true;
                continue;
            }
            split.Propose += Seconds(b - a);
            split.Step += Seconds(c - b);
            split.Advance += Seconds(e - c);
            split.Steps++;
            split.Rows += s.Tokens.Count;
            split.Tokens += emitted.Count;
        }
        _ = t0;
        split.Drafted += generator.DraftTokens;
        split.Accepted += generator.AcceptedDraftTokens;
        split.Forced += generator.ForcedTokens;
        return [.. generator.Output];
    }

    private static double Seconds(long ticks) => (double)ticks / 1e9;

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds, Nanoseconds;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    // Thread CPU time in ns (CLOCK_THREAD_CPUTIME_ID): immune to the machine's load, unlike wall time.
    private static long Now()
    {
        ClockGetTime(3, out var t);
        return (t.Seconds * 1_000_000_000L) + t.Nanoseconds;
    }

    /// <summary>Each prompt's plain greedy output and the steps prompt lookup and an oracle drafter would need for it.</summary>
    private static string Oracles(LanguageModel model, int tokens, string[] texts, bool toolCall)
    {
        using var noteSchema = JsonDocument.Parse("""{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}""");
        var text = new StringBuilder();
        foreach (string p in texts)
        {
            var prompt = model.Tokenizer.Encode(p, addBos: true);
            using var sequence = model.CreateSequence();
            var request = new GenerationRequest { MaxNewTokens = tokens, IgnoreEndOfSequence = true };
            if (toolCall)
            {
                var constraint = JsonSchemaConstraint.ForToolCall(model.Tokenizer, [("send_note", noteSchema.RootElement.Clone())]);
                constraint.CanonicalForcedSpans = true;
                request.Constraint = constraint;
            }
            var output = new Generator(model, sequence, prompt, request).Run().Tokens;
            text.AppendLine(CultureInfo.InvariantCulture, $"prompt ({prompt.Count} tokens): {p}");
            text.AppendLine("output: " + model.Tokenizer.Decode(output).Replace("\n", "\\n", StringComparison.Ordinal));
            text.AppendLine(Oracle(prompt, [.. output]));
        }
        return text.ToString();
    }

    private static string Speculative(LanguageModel model, int tokens, int runs, string[] texts)
    {
        var prompts = texts.Select(p => model.Tokenizer.Encode(p, addBos: true)).ToArray();
        var variants = new (string Name, Func<Sequence, IDraftProvider?> Provider)[]
        {
            ("plain", _ => null),
            ("prompt lookup", _ => new PromptLookupDraftProvider()),
            ("early exit", s => new EarlyExitDraftProvider(model, s)),
            ("lookup + early exit", s => new DraftComposer(new PromptLookupDraftProvider(), new EarlyExitDraftProvider(model, s))),
        };
        var splits = variants.Select(_ => new Split()).ToArray();
        var outputs = new List<int>[variants.Length][];
        var profiles = new Dictionary<string, (double, long)>[variants.Length];
        for (int r = -1; r < runs; r++)
        {
            for (int v = 0; v < variants.Length; v++)
            {
                var split = r < 0 ? new Split() : splits[v];
                double before = split.Total;
                split.Cursor = 0;
                outputs[v] = new List<int>[prompts.Length];
                if (r == runs - 1) { OpProfile.Reset(); OpProfile.Enabled = true; OpProfile.ThreadCpuTime = QuickSilver.Engine.Kernels.KernelSettings.Threads == 1; }
                for (int i = 0; i < prompts.Length; i++)
                {
                    using var sequence = model.CreateSequence();
                    var request = new GenerationRequest { MaxNewTokens = tokens, IgnoreEndOfSequence = true, MaxDraftTokens = 8, DraftProvider = variants[v].Provider(sequence) };
                    outputs[v][i] = Drive(model, new Generator(model, sequence, prompts[i], request), split);
                }
                if (r == runs - 1) { OpProfile.Enabled = false; profiles[v] = OpProfile.Snapshot().ToDictionary(p => p.Key, p => p.Value); }
                split.Rounds.Add(split.Total - before);
            }
        }
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Speculative probe: {prompts.Length} agent prompts × {tokens} greedy tokens, {runs} rounds summed, {KernelSettings()}.");
        text.AppendLine(Header);
        for (int v = 0; v < variants.Length; v++) text.AppendLine(splits[v].Line(variants[v].Name));
        for (int v = 1; v < variants.Length; v++)
        {
            bool same = outputs[v].Zip(outputs[0]).All(p => p.First.SequenceEqual(p.Second));
            double ratio = splits[0].Total / splits[v].Total, best = splits[0].Best / splits[v].Best;
            text.AppendLine(CultureInfo.InvariantCulture, $"{variants[v].Name}: plain ÷ this = {ratio:F2} (all rounds), {best:F2} (best round of each), {splits[0].MinSum / splits[v].MinSum:F2} (sum over steps of each step's least CPU time, prefill included: an idle estimate, {1e3 * splits[v].MinSum:F2} ms against {1e3 * splits[0].MinSum:F2}); tokens {(same ? "identical" : "DIFFER")}.");
        }
        for (int v = 0; v < variants.Length; v++) text.Append(Profile(variants[v].Name, profiles[v]));
        for (int i = 0; i < prompts.Length; i++) text.AppendLine(Oracle(prompts[i], outputs[0][i]));
        text.AppendLine("Outputs: " + string.Join(" || ", outputs[0].Select(o => model.Tokenizer.Decode(o).Replace("\n", "\\n", StringComparison.Ordinal))));
        return text.ToString();
    }

    /// <summary>
    /// The speculative variants through <see cref="QuickSilver.Extensions.AI.QuickSilverChatClient"/> (greedy, the agent prompts as
    /// user messages): process CPU time per variant (the scheduler runs the steps on its own thread), draft counts from usage.
    /// </summary>
    private static string Client(LanguageModel model, int tokens, int runs, string[] prompts)
    {
        var variants = new (string Name, bool Lookup, bool Early)[] { ("plain", false, false), ("prompt lookup", true, false), ("early exit", false, true), ("lookup + early exit", true, true) };
        var cpu = new double[variants.Length];
        var wall = new double[variants.Length];
        var texts = new string[variants.Length][];
        var drafted = new long[variants.Length];
        var accepted = new long[variants.Length];
        using var client = new QuickSilver.Extensions.AI.QuickSilverChatClient(model, new QuickSilver.Extensions.AI.QuickSilverOptions { PrefixCacheBytes = 0 });
        using var process = Process.GetCurrentProcess();
        for (int r = -1; r < runs; r++)
        {
            for (int v = 0; v < variants.Length; v++)
            {
                texts[v] = new string[prompts.Length];
                for (int i = 0; i < prompts.Length; i++)
                {
                    var options = new Microsoft.Extensions.AI.ChatOptions
                    {
                        Temperature = 0, MaxOutputTokens = tokens, ConversationId = $"{v}-{i}-{r}",
                        AdditionalProperties = new()
                        {
                            [QuickSilver.Extensions.AI.QuickSilverChatOptionKeys.PromptLookup] = variants[v].Lookup,
                            [QuickSilver.Extensions.AI.QuickSilverChatOptionKeys.EarlyExitDrafting] = variants[v].Early,
                            [QuickSilver.Extensions.AI.QuickSilverChatOptionKeys.MaxDraftTokens] = 8,
                        },
                    };
                    process.Refresh();
                    var before = process.TotalProcessorTime;
                    long start = Stopwatch.GetTimestamp();
                    var response = client.GetResponseAsync([new(Microsoft.Extensions.AI.ChatRole.User, prompts[i])], options).GetAwaiter().GetResult();
                    double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                    process.Refresh();
                    texts[v][i] = response.Text;
                    if (r < 0) continue;
                    cpu[v] += (process.TotalProcessorTime - before).TotalSeconds;
                    wall[v] += seconds;
                    var counts = response.Usage?.AdditionalCounts;
                    drafted[v] += counts?.GetValueOrDefault("quicksilver.draft_tokens") ?? 0;
                    accepted[v] += counts?.GetValueOrDefault("quicksilver.accepted_draft_tokens") ?? 0;
                }
            }
        }
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Through IChatClient: {prompts.Length} agent prompts × ≤{tokens} greedy tokens, {runs} rounds, whole requests (prefill included), process CPU time.");
        text.AppendLine("| variant | CPU s | wall s | drafted/accepted | plain ÷ this (CPU) | same text |");
        text.AppendLine("|---|---|---|---|---|---|");
        for (int v = 0; v < variants.Length; v++)
            text.AppendLine(CultureInfo.InvariantCulture, $"| {variants[v].Name} | {cpu[v]:F2} | {wall[v]:F2} | {drafted[v]}/{accepted[v]} | {cpu[0] / cpu[v]:F2} | {texts[v].SequenceEqual(texts[0])} |");
        return text.ToString();
    }

    /// <summary>Steps a greedy output needs with prompt lookup (no feedback, ≤8 drafts) against the best any earlier n-gram match could do.</summary>
    private static string Oracle(IReadOnlyList<int> prompt, List<int> output)
    {
        int Steps(Func<List<int>, int, int> accepted)
        {
            int steps = 0;
            for (int p = 0; p < output.Count;)
            {
                // Context before emitting output[p]: prompt + output[..p]; the step emits output[p] plus accepted drafts.
                var context = new List<int>(prompt);
                context.AddRange(output.Take(p));
                int a = p == 0 ? 0 : accepted(context, p);
                steps++;
                p += 1 + a;
            }
            return steps;
        }
        // Draft after the pending token output[p] (context + output[p]); accepted = matching prefix of output[p+1..].
        int Match(IReadOnlyList<int> draft, int p)
        {
            int m = 0;
            while (m < draft.Count && p + 1 + m < output.Count && draft[m] == output[p + 1 + m]) m++;
            return m;
        }
        // Per matched suffix length n: proposals, first draft token right, draft tokens accepted (of 8 proposed).
        var byLength = new long[PromptLookupOptions.MaxNgramLimit + 1, 3];
        int lookup = Steps((c, p) =>
        {
            var drafter = new PromptLookupDrafter(new PromptLookupOptions { MinNgram = 1 });
            drafter.Sync([.. c, output[p]]);
            var draft = drafter.Propose(8);
            int m = Match(draft, p), n = drafter.LastMatchLength;
            if (draft.Count > 0 && p + 1 < output.Count)
            {
                byLength[n, 0]++;
                byLength[n, 1] += m > 0 ? 1 : 0;
                byLength[n, 2] += m;
            }
            return n >= new PromptLookupOptions().MinNgram ? m : 0;
        });
        var lengths = new StringBuilder();
        for (int n = 1; n <= PromptLookupOptions.MaxNgramLimit; n++)
            if (byLength[n, 0] > 0) lengths.Append(CultureInfo.InvariantCulture, $" n={n}: {byLength[n, 0]} proposals, first right {byLength[n, 1]}, accepted {byLength[n, 2]};");
        int oracle = Steps((c, p) => DraftOracle.BestMatch(c, output, p, 8));
        return string.Create(CultureInfo.InvariantCulture, $"oracle: {output.Count} tokens; plain {output.Count} steps, prompt lookup (no feedback) {lookup}, best single earlier match (any n ≥ 1, no periodic extension) {oracle}. By matched suffix (MinNgram 1, 8 drafted):{lengths}");
    }

    private static string Jump(LanguageModel model, int runs)
    {
        using var schema = JsonDocument.Parse(AccelerationBench.SixFieldSchema);
        var prompt = model.Tokenizer.Encode("Return the customer record as JSON: ", addBos: true);
        var splits = new[] { new Split(), new Split() };
        var outputs = new List<int>[2];
        var profiles = new Dictionary<string, (double, long)>[2];
        double[] constraintSeconds = new double[2];
        double[] setup = new double[2]; // CPU seconds: sequence creation; constraint and generator construction
        for (int r = -1; r < runs; r++)
        {
            for (int v = 0; v < 2; v++)
            {
                long t0 = Now();
                using var sequence = model.CreateSequence();
                long t1 = Now();
                var request = new GenerationRequest { MaxNewTokens = 400, Constraint = JsonSchemaConstraint.ForSchema(model.Tokenizer, schema.RootElement.Clone()), JumpForward = v == 1 };
                var generator = new Generator(model, sequence, prompt, request);
                if (r >= 0) { setup[0] += Seconds(t1 - t0); setup[1] += Seconds(Now() - t1); }
                if (r == runs - 1) { OpProfile.Reset(); OpProfile.Enabled = true; OpProfile.ThreadCpuTime = QuickSilver.Engine.Kernels.KernelSettings.Threads == 1; }
                var split = r < 0 ? new Split() : splits[v];
                double before = split.Total;
                split.Cursor = 0;
                outputs[v] = Drive(model, generator, split);
                split.Rounds.Add(split.Total - before);
                if (r == runs - 1) { OpProfile.Enabled = false; profiles[v] = OpProfile.Snapshot().ToDictionary(p => p.Key, p => p.Value); }
            }
        }
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Jump-forward probe: 6-field schema, {runs} rounds summed, {KernelSettings()}.");
        text.AppendLine(Header);
        text.AppendLine(splits[0].Line("sampled under the constraint"));
        text.AppendLine(splits[1].Line("jump-forward"));
        double ratio = splits[0].Total / splits[1].Total, best = splits[0].Best / splits[1].Best;
        text.AppendLine(CultureInfo.InvariantCulture, $"sum over steps of the least CPU time of any round (prefill included; an idle estimate): plain {1e3 * splits[0].MinSum:F2} ms, jump-forward {1e3 * splits[1].MinSum:F2} ms, ratio {splits[0].MinSum / splits[1].MinSum:F2}; prefill {1e3 * splits[0].StepMins[0]:F2} / {1e3 * splits[1].StepMins[0]:F2} ms.");
        text.AppendLine(CultureInfo.InvariantCulture, $"plain ÷ jump-forward = {ratio:F2} (decode, all rounds), {best:F2} (best round of each); tokens {(outputs[0].SequenceEqual(outputs[1]) ? "identical" : "DIFFER")}; prefill ms {1e3 * splits[0].Prefill:F1} / {1e3 * splits[1].Prefill:F1}.");
        text.AppendLine(CultureInfo.InvariantCulture, $"per request outside the steps (CPU): sequence creation {1e3 * setup[0] / (2 * runs):F2} ms, constraint and generator construction {1e3 * setup[1] / (2 * runs):F2} ms.");
        for (int v = 0; v < 2; v++) text.Append(Profile(v == 0 ? "plain" : "jump", profiles[v]));
        text.AppendLine("jump-forward least CPU µs per step: " + string.Join(' ', splits[1].StepMins.Select(m => (1e6 * m).ToString("F0", CultureInfo.InvariantCulture))));
        text.AppendLine("Output: " + model.Tokenizer.Decode(outputs[1]));
        _ = constraintSeconds;
        return text.ToString();
    }

    /// <summary>
    /// The row path's attention alone, in thread CPU time (least of 30 batches): one query over a layer's cache, for the
    /// head shapes of random:tiny (4 × 16) and stories260K (8 × 8) at the key counts of the benches.
    /// </summary>
    private static unsafe string AttendCost()
    {
        var text = new StringBuilder("Attention per call (one query row, float32 K/V, thread CPU ns, least of 30 batches of 2000 calls):\n");
        foreach (var (heads, headDim) in new[] { (4, 16), (8, 8) })
        {
            foreach (int count in new[] { 40, 48, 100, 112, 150 })
            {
                const int capacity = 512;
                var random = new Random(1);
                float[] keys = new float[heads * capacity * headDim], values = new float[keys.Length], query = new float[heads * headDim], output = new float[query.Length];
                for (int i = 0; i < keys.Length; i++) { keys[i] = (float)random.NextDouble() - 0.5f; values[i] = (float)random.NextDouble() - 0.5f; }
                for (int i = 0; i < query.Length; i++) query[i] = (float)random.NextDouble() - 0.5f;
                double best = double.MaxValue;
                fixed (float* k = keys)
                fixed (float* v = values)
                {
                    for (int batch = 0; batch < 30; batch++)
                    {
                        long start = Now();
                        for (int call = 0; call < 2000; call++)
                            QuickSilver.Engine.Kernels.SingleQueryAttention.Attend(query, k, v, null, count, capacity, heads, heads, headDim, count - 1, 1.0 / Math.Sqrt(headDim), null, 0, output, 1);
                        best = Math.Min(best, (Now() - start) / 2000.0);
                    }
                }
                text.AppendLine(CultureInfo.InvariantCulture, $"heads {heads} × {headDim}, {count} keys: {best:F0} ns");
            }
        }
        return text.ToString();
    }

    private static string KernelSettings() => string.Create(CultureInfo.InvariantCulture, $"threads {QuickSilver.Engine.Kernels.KernelSettings.Threads}");

    private static string Profile(string name, Dictionary<string, (double Seconds, long Calls)> profile)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"profile {name} (last round): ");
        foreach (var (op, (seconds, calls)) in profile.OrderByDescending(p => p.Value.Seconds))
            text.Append(CultureInfo.InvariantCulture, $"{op} {1e3 * seconds:F1} ms/{calls}; ");
        return text.AppendLine().ToString();
    }
}
