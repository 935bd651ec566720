using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Runtime;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Engine.Tests.Generation;

public sealed class GeneratorTests
{
    private static LanguageModel Model => StepApiTests.Model;

    /// <summary>The decode loop as it was before the generator: forward runner, KV cache, Sampler, stop ids, budget.</summary>
    private static List<int> ReferenceLoop(IReadOnlyList<int> prompt, GenerationRequest request)
    {
        using var cache = new KvCache(Model.Config, Model.ContextLength, Model.Transformer.Device);
        var sampler = new Sampler(request, prompt);
        float[] Run(IReadOnlyList<int> tokens)
        {
            using var output = Model.Runner.Run(new ForwardInput { TokenIds = tokens, StartPosition = cache.Length, Cache = cache });
            return output.Logits.reshape(-1).data<float>().ToArray();
        }
        var generated = new List<int>();
        float[] logits = Run(prompt);
        while (true)
        {
            int token = sampler.Sample(logits);
            if (token == Model.Tokenizer.EosTokenId || token == Model.Config.EosTokenId) break;
            generated.Add(token);
            if (generated.Count >= request.MaxNewTokens) break;
            logits = Run([token]);
        }
        return generated;
    }

    private static GenerationRequest Seeded(int max = 24) => new() { MaxNewTokens = max, Temperature = 0.9f, TopK = 40, TopP = 0.95f, Seed = 7, RepetitionPenalty = 1.2f, FrequencyPenalty = 0.3f, PresencePenalty = 0.2f };

    [Fact]
    public void Generator_equals_the_old_loop_greedy_and_seeded()
    {
        var prompt = StepApiTests.Prompt();
        foreach (var make in new Func<GenerationRequest>[] { () => new GenerationRequest { MaxNewTokens = 24 }, () => Seeded() })
        {
            using var sequence = Model.CreateSequence();
            var result = new Generator(Model, sequence, prompt, make()).Run();
            Assert.Equal(ReferenceLoop(prompt, make()), result.Tokens);
            Assert.Equal(prompt.Count + result.Tokens.Count - (result.FinishReason == GenerationFinishReason.Stop ? 0 : 1), sequence.Length);
        }
    }

    [Fact]
    public async Task Async_and_step_driven_loops_yield_the_same_tokens()
    {
        var prompt = StepApiTests.Prompt();
        using var a = Model.CreateSequence();
        var expected = new Generator(Model, a, prompt, Seeded()).Run().Tokens;
        using var b = Model.CreateSequence();
        var tokens = new List<int>();
        await foreach (var token in new Generator(Model, b, prompt, Seeded()).GenerateAsync())
        {
            Assert.Equal(tokens.Count, token.Index);
            tokens.Add(token.Id);
        }
        Assert.Equal(expected, tokens);
        using var c = Model.CreateSequence();
        var generator = new Generator(Model, c, prompt, Seeded());
        var stepped = new List<int>();
        while (generator.NextStep() is { } step) stepped.AddRange(generator.Advance(Model.Decode([step])[0]).Select(t => t.Id));
        Assert.Equal(expected, stepped);
    }

    [Fact]
    public void A_stop_string_ends_generation_at_the_token_that_completes_it()
    {
        var prompt = StepApiTests.Prompt();
        using var free = Model.CreateSequence();
        var tokens = new Generator(Model, free, prompt, new GenerationRequest { MaxNewTokens = 30 }).Run().Tokens;
        string text = Model.Tokenizer.Decode(tokens);
        // A stop string that starts inside one token and ends inside a later one.
        int at = text.Length / 2;
        string stop = text.Substring(at, 5);
        int expectedCount = Enumerable.Range(1, tokens.Count).First(n => Bytes(tokens.Take(n)).Contains(stop, StringComparison.Ordinal));

        using var sequence = Model.CreateSequence();
        var result = new Generator(Model, sequence, prompt, new GenerationRequest { MaxNewTokens = 30, StopSequences = ["zzzq", stop] }).Run();
        Assert.Equal(GenerationFinishReason.Stop, result.FinishReason);
        Assert.Equal(tokens.Take(expectedCount), result.Tokens);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Generator(Model, sequence, prompt, new GenerationRequest { StopSequences = [""] }));
    }

    private static string Bytes(IEnumerable<int> ids) => System.Text.Encoding.UTF8.GetString([.. ids.SelectMany(Model.Tokenizer.TokenBytes)]);

    [Fact]
    public void Restoring_a_snapshot_replays_exactly()
    {
        var prompt = StepApiTests.Prompt();
        using var plain = Model.CreateSequence();
        var expected = new Generator(Model, plain, prompt, Seeded(30)).Run().Tokens;

        using var sequence = Model.CreateSequence();
        var constraint = new NoRepeatConstraint(expected[4]);
        var request = Seeded(30);
        request.Constraint = constraint;
        using var plainConstrained = Model.CreateSequence();
        var constrainedRequest = Seeded(30);
        constrainedRequest.Constraint = new NoRepeatConstraint(expected[4]);
        var expectedConstrained = new Generator(Model, plainConstrained, prompt, constrainedRequest).Run().Tokens;

        var generator = new Generator(Model, sequence, prompt, request);
        Step(generator, 8);
        var snapshot = generator.Snapshot();
        var tokensAt = sequence.Tokens.ToList();
        Step(generator, 6);
        var firstTry = generator.Output.ToList();
        generator.Restore(snapshot);
        Assert.Equal(tokensAt, sequence.Tokens);
        Assert.Equal(firstTry.Take(snapshot.OutputCount), generator.Output);
        Step(generator, 6);
        Assert.Equal(firstTry, generator.Output);
        generator.Restore(snapshot);
        var rest = generator.Run();
        Assert.Equal(expectedConstrained, rest.Tokens);
        Assert.NotEqual(expected, expectedConstrained); // the constraint took part
    }

    private static void Step(Generator generator, int steps)
    {
        for (int i = 0; i < steps && generator.NextStep() is { } step; i++) generator.Advance(Model.Decode([step])[0]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Drafted_decoding_equals_plain_decoding(bool seeded)
    {
        var prompt = StepApiTests.Prompt();
        GenerationRequest Make() => seeded ? Seeded(30) : new GenerationRequest { MaxNewTokens = 30 };
        using var plainSequence = Model.CreateSequence();
        var counter = new CountingModel(Model);
        var plain = new Generator(counter, plainSequence, prompt, Make()).Run();
        int plainSteps = counter.Steps;

        // A drafter that knows the answer but lies about every third token.
        var request = Make();
        request.DraftProvider = new OracleDrafter(prompt.Count, plain.Tokens);
        request.MaxDraftTokens = 4;
        using var sequence = Model.CreateSequence();
        counter.Steps = 0;
        var drafted = new Generator(counter, sequence, prompt, request).Run();
        Assert.Equal(plain.Tokens, drafted.Tokens);
        Assert.Equal(plain.FinishReason, drafted.FinishReason);
        Assert.Equal(plainSequence.Tokens, sequence.Tokens);
        Assert.True(counter.Steps < plainSteps, $"{counter.Steps} steps with drafts, {plainSteps} without");
    }

    private sealed class OracleDrafter(int promptLength, IReadOnlyList<int> answer) : IDraftProvider
    {
        public IReadOnlyList<int> Propose(IReadOnlyList<int> context, int maxTokens)
        {
            int at = context.Count - promptLength;
            var drafts = new List<int>();
            for (int i = at; i < answer.Count && drafts.Count < maxTokens; i++) drafts.Add(i % 3 == 2 ? (answer[i] + 1) % 512 : answer[i]);
            return drafts;
        }
    }

    private sealed class CountingModel(LanguageModel inner) : IStepModel
    {
        public int Steps { get; set; }
        public ITokenizer Tokenizer => inner.Tokenizer;
        public int VocabSize => inner.VocabSize;
        public IReadOnlyCollection<int> EndOfSequenceIds => inner.EndOfSequenceIds;
        public Sequence CreateSequence(SequenceOptions options) => inner.CreateSequence(options);
        public IReadOnlyList<StepLogits> Decode(IReadOnlyList<SequenceStep> batch) { Steps++; return inner.Decode(batch); }
    }

    /// <summary>Forbids one token and repeating the previous token; snapshots its one int of state.</summary>
    private sealed class NoRepeatConstraint(int forbidden) : ITokenConstraint
    {
        private int _last = -1;
        public bool IsComplete => false;
        public void Apply(Span<float> logits) { logits[forbidden] = float.NegativeInfinity; if (_last >= 0) logits[_last] = float.NegativeInfinity; }
        public void Accept(int tokenId) => _last = tokenId;
        public object? Snapshot() => _last;
        public void Restore(object snapshot) => _last = (int)snapshot;
    }
}
