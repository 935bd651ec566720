using System.Text.Json;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine;
using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Speculative;
using Microsoft.Extensions.AI;
using QuickSilver.Extensions.AI;
using QuickSilver.Extensions.AI.Constraints;

namespace QuickSilver.Cli.Bench;

/// <summary>
/// The lossless decode accelerations of issue 12, each as a ratio measured in one interleaved run: speculative decoding
/// (prompt lookup, then early exit) on an agent-style workload on stories260K, and jump-forward on a 6-field JSON schema.
/// Both variants run the real generator; a ratio is only reported when the tokens are identical.
/// </summary>
internal static class AccelerationBench
{
    /// <summary>Agent-style prompts: a tool call copying spans of the user message, and an answer quoting a retrieved passage.</summary>
    internal static readonly string[] AgentPrompts =
    [
        "The user said: please send a note to Lily that says the big red ball is in the park by the tall tree. "
        + "The tool call is send_note with the text: the big red ball is in the park by the tall tree. "
        + "Then the tool call is send_note with the text:",
        "Passage: Once upon a time, there was a little girl named Lily. She loved to play with her red ball in the park. "
        + "One day, she lost her ball under a big tree. Question: What did Lily love? Answer: Lily loved to play with her red ball in the park. "
        + "Question: Where did she lose it? Answer:",
    ];

    /// <summary>The 6-field schema of jump_forward_speedup: keys, punctuation and most of each value are forced.</summary>
    internal const string SixFieldSchema = """
        {"type":"object","properties":{
          "status":{"type":"string","enum":["active","inactive","suspended"]},
          "verified":{"type":"boolean"},
          "tier":{"type":"string","enum":["bronze","silver","gold"]},
          "region":{"type":"string","enum":["north-america","europe","asia-pacific"]},
          "priority":{"type":"string","enum":["low","medium","high"]},
          "newsletter":{"type":"boolean"}},
         "required":["status","verified","tier","region","priority","newsletter"],"additionalProperties":false}
        """;

    /// <summary>Plain decode seconds ÷ speculative decode seconds over the agent prompts (decode only: after the first token).</summary>
    public static double? SpeculativeSpeedup(LanguageModel model, int tokens, int runs, List<string> notes)
    {
        var prompts = AgentPrompts.Select(p => model.Tokenizer.Encode(p, addBos: true)).ToArray();
        List<int>[] plainTokens = [], specTokens = [];
        long drafted = 0, accepted = 0;
        double cpu = 0; // process CPU seconds of the last Decode's steps after the first token
        double Decode(bool speculative, List<int>[] outputs)
        {
            double seconds = 0;
            cpu = 0;
            for (int i = 0; i < prompts.Length; i++)
            {
                using var sequence = model.CreateSequence();
                var request = new GenerationRequest { MaxNewTokens = tokens, IgnoreEndOfSequence = true, MaxDraftTokens = 8 };
                if (speculative) request.DraftProvider = new DraftComposer(new PromptLookupDraftProvider(), new EarlyExitDraftProvider(model, sequence));
                var generator = new Generator(model, sequence, prompts[i], request);
                // Stepped as Generator.Run steps it, so the decode steps' CPU time can be told from the prefill's.
                bool first = true;
                while (generator.NextStep() is { } step)
                {
                    double before = first ? 0 : ProcessCpuClock.Seconds();
                    generator.Advance(model.Decode([step])[0]);
                    if (!first) cpu += ProcessCpuClock.Seconds() - before;
                    first = false;
                }
                var result = generator.GetResult();
                seconds += result.TotalSeconds - result.TimeToFirstTokenSeconds;
                outputs[i] = [.. result.Tokens];
                if (speculative) { drafted += generator.DraftTokens; accepted += generator.AcceptedDraftTokens; }
            }
            return seconds;
        }
        plainTokens = new List<int>[prompts.Length];
        specTokens = new List<int>[prompts.Length];
        Decode(false, plainTokens);
        Decode(true, specTokens);
        var ratios = new List<double>();
        var cpuRatios = new List<double>();
        for (int r = 0; r < runs; r++)
        {
            double plain = Decode(false, plainTokens), plainCpu = cpu;
            double spec = Decode(true, specTokens);
            ratios.Add(plain / spec);
            cpuRatios.Add(plainCpu / cpu);
        }
        if (!plainTokens.Zip(specTokens).All(p => p.First.SequenceEqual(p.Second)))
        {
            notes.Add("speculative_speedup_agent: speculative tokens differ from plain decoding; not reported.");
            return null;
        }
        var ceiling = StepCeiling(prompts, plainTokens, tokens, accepted, runs + 1);
        OracleStepCeiling = ceiling.Oracle;
        notes.Add($"speculative_speedup_agent: stories260K, {prompts.Length} agent prompts (a tool call copying the user's note, a RAG answer quoting a passage) × {tokens} greedy tokens, prompt lookup then early exit (layer {EarlyExitDrafter.DefaultExitLayer(model.Config, null)}), ≤8 drafts/step; identical tokens; {accepted} of {drafted} drafted tokens accepted over all runs; median of {runs} interleaved runs (wall clock); in process CPU time the median ratio is {Summary.Of(cpuRatios).Median:F2}, load average {Load()}. Ceiling: plain decoding takes {ceiling.PlainSteps} steps, the drafting {ceiling.DraftSteps:F0} ({ceiling.Drafting:F2}× fewer: the speedup if verified rows cost nothing), an oracle that drafts the best earlier match of any length {ceiling.OracleSteps} ({ceiling.Oracle:F2}×, key speculative_oracle_step_ceiling){(ceiling.Oracle < 1.5 ? ": on this model and workload no drafter that copies earlier text (without running past the context's end) can reach 1.5×, even with free verification rows" : "")}.");
        return Summary.Of(ratios).Median;
    }

    /// <summary>The last <see cref="SpeculativeSpeedup"/>'s oracle step ceiling (plain steps ÷ oracle steps), or null.</summary>
    public static double? OracleStepCeiling { get; private set; }

    /// <summary>
    /// Decode steps after the first token: plain decoding's, the drafting's (from the accepted drafts of <paramref name="rounds"/>
    /// speculative rounds) and an oracle drafter's (<see cref="DraftOracle"/>, ≤8 drafts).
    /// </summary>
    private static (int PlainSteps, double DraftSteps, int OracleSteps, double Drafting, double Oracle) StepCeiling(
        IReadOnlyList<int>[] prompts, List<int>[] outputs, int tokens, long accepted, int rounds)
    {
        int plain = 0, oracle = 0;
        for (int i = 0; i < prompts.Length; i++)
        {
            plain += outputs[i].Count - 1;
            oracle += DraftOracle.Steps(prompts[i], outputs[i], 8) - 1;
        }
        double drafting = plain - ((double)accepted / rounds);
        _ = tokens;
        return (plain, drafting, oracle, plain / drafting, plain / (double)Math.Max(1, oracle));
    }

    /// <summary>Structured-output latency without jump-forward ÷ with it, for the 6-field schema (greedy, whole request).</summary>
    public static double? JumpForwardSpeedup(LanguageModel model, int runs, List<string> notes)
    {
        using var schema = JsonDocument.Parse(SixFieldSchema);
        var prompt = model.Tokenizer.Encode("Return the customer record as JSON: ", addBos: true);
        List<int> plainTokens = [], jumpTokens = [];
        int forced = 0;
        double cpu = 0; // process CPU seconds of the last Run
        double Run(bool jump, List<int> output)
        {
            using var sequence = model.CreateSequence();
            var request = new GenerationRequest
            {
                MaxNewTokens = 400, Constraint = JsonSchemaConstraint.ForSchema(model.Tokenizer, schema.RootElement.Clone()), JumpForward = jump,
            };
            // The same span as the wall clock's (the generator's own timings): from its construction to the last token.
            double started = ProcessCpuClock.Seconds();
            var generator = new Generator(model, sequence, prompt, request);
            var result = generator.Run();
            cpu = ProcessCpuClock.Seconds() - started;
            output.Clear();
            output.AddRange(result.Tokens);
            forced = generator.ForcedTokens;
            return result.TotalSeconds;
        }
        Run(false, plainTokens);
        Run(true, jumpTokens);
        var ratios = new List<double>();
        var cpuRatios = new List<double>();
        for (int r = 0; r < runs; r++)
        {
            double plain = Run(false, plainTokens), plainCpu = cpu;
            ratios.Add(plain / Run(true, jumpTokens));
            cpuRatios.Add(plainCpu / cpu);
        }
        if (!plainTokens.SequenceEqual(jumpTokens))
        {
            notes.Add("jump_forward_speedup: jump-forward tokens differ from sampling under the constraint; not reported.");
            return null;
        }
        notes.Add($"jump_forward_speedup: {plainTokens.Count}-token reply to a 6-field JSON schema ({forced} tokens forced), greedy, whole-request latency; identical tokens; median of {runs} interleaved runs (wall clock); in process CPU time over the same span the median ratio is {Summary.Of(cpuRatios).Median:F2}, load average {Load()}.");
        return Summary.Of(ratios).Median;
    }

    private static string Load()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "unknown"; }
        catch (UnauthorizedAccessException) { return "unknown"; }
    }

    /// <summary>
    /// Time to first token of a second conversation sharing a ~400-token system prompt and a tool with the first ÷ the first's,
    /// through the chat client with the prefix cache on (default policy, streaming). Each run uses a fresh client.
    /// </summary>
    public static double? PrefixCacheTtftRatio(LanguageModel model, int runs, List<string> notes)
    {
        var sentences = new[]
        {
            "You are a careful helper for a small town library.", "Answer in short, kind sentences that a child can read.",
            "When a question is about a book, say its title and where it sits on the shelf.", "Never make up a book that is not in the list.",
            "If you do not know, say so and suggest asking the librarian.", "The library opens at nine and closes at five every day but Sunday.",
        };
        // About 400 tokens of system prompt, sentence by sentence.
        var system = new System.Text.StringBuilder();
        for (int i = 0; model.Tokenizer.Encode(system.ToString(), addBos: false).Count < 400; i++) system.Append(sentences[i % sentences.Length]).Append(' ');
        AIFunction? tool = AIFunctionFactory.Create((string title) => title, "find_book", "Finds a book.");
        List<ChatMessage> Conversation(string user) => [new(ChatRole.System, system.ToString()), new(ChatRole.User, user)];
        int systemTokens = model.Tokenizer.Encode(system.ToString(), addBos: false).Count;

        double Ttft(QuickSilverChatClient client, string user, string id)
        {
            var response = client.GetResponseAsync(Conversation(user), new ChatOptions { MaxOutputTokens = 2, ConversationId = id, Tools = tool is null ? null : [tool] }).GetAwaiter().GetResult();
            return response.Usage!.AdditionalCounts![QuickSilverChatClient.TimeToFirstTokenKey] / 1e6;
        }
        var ratios = new List<double>();
        long cached = 0, input = 0;
        if (model.ContextLength < 600)
        {
            notes.Add($"prefix_cache_ttft_ratio: the model's {model.ContextLength}-token context cannot hold a 400-token system prompt plus tools and a reply; measured with the tool left out.");
            tool = null;
        }
        for (int r = -1; r < runs; r++) // round -1 warms up
        {
            using var client = new QuickSilverChatClient(model, new QuickSilverOptions { PrefixCacheBytes = 64L << 20 });
            double first = Ttft(client, "Where is the book about the big red dog?", "first");
            var second = client.GetResponseAsync(Conversation("Is the library open on Sunday?"), new ChatOptions { MaxOutputTokens = 2, ConversationId = "second", Tools = tool is null ? null : [tool] }).GetAwaiter().GetResult();
            double secondTtft = second.Usage!.AdditionalCounts![QuickSilverChatClient.TimeToFirstTokenKey] / 1e6;
            if (r < 0) continue;
            ratios.Add(secondTtft / first);
            cached = second.Usage.CachedInputTokenCount ?? 0;
            input = second.Usage.InputTokenCount ?? 0;
        }
        notes.Add($"prefix_cache_ttft_ratio: stories260K through IChatClient (default policy), a {systemTokens}-token system prompt{(tool is null ? "" : " plus one tool")} shared by two conversations; the second reused {cached} of {input} prompt tokens; TTFT from the usage key (restore and block prefill included); median of {runs} fresh clients.");
        return Summary.Of(ratios).Median;
    }
}
