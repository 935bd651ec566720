using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Speculative;
using QuickSilver.Engine.Tests.Generation;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Engine.Tests.Speculative;

/// <summary>
/// Lossless decode accelerations on stories260K through the real generator: prompt lookup and early-exit drafting equal plain
/// decoding token for token (greedy and seeded), and jump-forward equals sampling under the constraint.
/// </summary>
public sealed class Stories260KAccelerationTests
{
    private static LanguageModel Model => StepApiTests.Model;

    private static IReadOnlyList<int> RepetitivePrompt() =>
        StepApiTests.Prompt("Lily went to the park. She saw a big dog. Lily went to the park. She saw a big dog. Lily went to the");

    private static GenerationRequest Make(bool seeded, int max = 40) => seeded
        ? new GenerationRequest { MaxNewTokens = max, Temperature = 0.8f, TopK = 40, TopP = 0.95f, Seed = 11, RepetitionPenalty = 1.1f, FrequencyPenalty = 0.2f }
        : new GenerationRequest { MaxNewTokens = max };

    private static GenerationRequest WithDrafts(GenerationRequest request)
    {
        request.MaxDraftTokens = 8;
        return request;
    }

    private static (GenerationResult Result, IReadOnlyList<int> Held, int Steps, Generator Generator) Run(IReadOnlyList<int> prompt, GenerationRequest request, Func<Sequence, IDraftProvider?>? drafts = null)
    {
        var counter = new CountingModel(Model);
        var sequence = Model.CreateSequence();
        try
        {
            request.DraftProvider = drafts?.Invoke(sequence);
            var generator = new Generator(counter, sequence, prompt, request);
            var result = generator.Run();
            return (result, sequence.Tokens.ToList(), counter.Steps, generator);
        }
        finally
        {
            sequence.Dispose();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Prompt_lookup_and_early_exit_drafting_equal_plain_decoding(bool seeded)
    {
        var prompt = RepetitivePrompt();
        var plain = Run(prompt, Make(seeded));
        var drafted = Run(prompt, WithDrafts(Make(seeded)), s => new DraftComposer(new PromptLookupDraftProvider(), new EarlyExitDraftProvider(Model, s)));
        Assert.Equal(plain.Result.Tokens, drafted.Result.Tokens);
        Assert.Equal(plain.Result.FinishReason, drafted.Result.FinishReason);
        Assert.Equal(plain.Held, drafted.Held);
        Assert.True(drafted.Generator.DraftTokens > 0, "nothing was drafted");
        if (!seeded)
        {
            Assert.True(drafted.Generator.AcceptedDraftTokens > 0, "no draft was accepted");
            Assert.True(drafted.Steps < plain.Steps, $"{drafted.Steps} steps with drafts, {plain.Steps} without");
        }
    }

    [Fact]
    public void Early_exit_drafting_alone_equals_plain_decoding()
    {
        var prompt = StepApiTests.Prompt();
        var plain = Run(prompt, Make(false));
        var drafted = Run(prompt, WithDrafts(Make(false)), s => new EarlyExitDraftProvider(Model, s, exitLayer: 3));
        Assert.Equal(plain.Result.Tokens, drafted.Result.Tokens);
        Assert.Equal(plain.Held, drafted.Held);
        Assert.True(drafted.Generator.DraftTokens > 0);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Jump_forward_equals_sampling_under_the_constraint(bool seeded, bool withDrafts)
    {
        var prompt = StepApiTests.Prompt();
        var plainRequest = Make(seeded, 45);
        plainRequest.Constraint = new CycleConstraint(Model.VocabSize);
        var plain = Run(prompt, plainRequest);

        var request = WithDrafts(Make(seeded, 45));
        request.Constraint = new CycleConstraint(Model.VocabSize);
        request.JumpForward = true;
        var jumped = Run(prompt, request, withDrafts ? _ => new PromptLookupDraftProvider() : null);
        Assert.Equal(plain.Result.Tokens, jumped.Result.Tokens);
        Assert.Equal(plain.Result.FinishReason, jumped.Result.FinishReason);
        Assert.Equal(plain.Held, jumped.Held);
        Assert.True(jumped.Generator.ForcedTokens > 0, "nothing was forced");
        Assert.True(jumped.Steps < plain.Steps, $"{jumped.Steps} steps with jump-forward, {plain.Steps} without");
    }

    [Fact]
    public void Routed_sequences_never_draft_or_force()
    {
        var prompt = RepetitivePrompt();
        var request = Make(false);
        request.Policy = QuickSilver.Policies.QuickSilverPolicy.Safe();
        request.DraftProvider = new PromptLookupDraftProvider();
        using var sequence = Model.CreateSequence(new SequenceOptions { Policy = request.Policy });
        var generator = new Generator(Model, sequence, prompt, request);
        generator.Run();
        Assert.Equal(0, generator.DraftTokens);
    }

    [Theory]
    [InlineData(31, 1)]
    [InlineData(4, 0)]
    [InlineData(4, 31)]
    public void Out_of_range_step_settings_are_rejected_by_name(int drafts, int forced)
    {
        var request = new GenerationRequest { MaxDraftTokens = drafts, MaxForcedTokens = forced };
        using var sequence = Model.CreateSequence();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Generator(Model, sequence, StepApiTests.Prompt(), request));
        Assert.Contains(drafts == 31 ? "MaxDraftTokens" : "MaxForcedTokens", e.Message);
    }

    /// <summary>After each free token, forces the next three tokens of a fixed cycle; rolls back by value.</summary>
    internal sealed class CycleConstraint(int vocab) : ITokenConstraint, IForcedContinuation
    {
        private static readonly int[] Forced = [30, 31, 32];
        private int _state; // 0: free; 1..3: the (state-1)-th forced token comes next

        public bool IsComplete => false;

        public void Apply(Span<float> logits)
        {
            if (_state == 0) return;
            int allowed = Forced[_state - 1];
            for (int i = 0; i < logits.Length && i < vocab; i++) if (i != allowed) logits[i] = float.NegativeInfinity;
        }

        public void Accept(int tokenId) => _state = _state == Forced.Length ? 0 : _state + 1;

        public object? Snapshot() => _state;

        public void Restore(object snapshot) => _state = (int)snapshot;

        public int PeekForced(Span<int> destination)
        {
            int n = 0;
            for (int s = _state; s >= 1 && s <= Forced.Length && n < destination.Length; s++) destination[n++] = Forced[s - 1];
            return n;
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
}
