using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Scheduling;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Scheduling;

/// <summary>
/// <see cref="BatchScheduler"/> on the real stories260K model: batched requests give exactly the tokens each gives alone
/// (greedy and seeded sampling, chunked prompts), requests join and leave at step boundaries, cancellation and failures stay
/// with their request, and the K/V bound queues or rejects.
/// </summary>
public sealed class BatchSchedulerTests
{
    private static readonly Lazy<LanguageModel> Stories = new(() => LanguageModel.Load(SharedAssets.Stories260KBin));

    private static LanguageModel Model => Stories.Value;

    private static readonly string[] Prompts =
    [
        "Once upon a time, there was a little girl named Lily. She",
        "The cat sat on the mat and looked at the bird.",
        "Tom had a red ball.",
        "One day, a big dog ran into the park and",
        "The sun was hot, so Sue went to the pond to swim. She saw a frog",
        "Ben liked to build towers with his blocks.",
        "Mom said, \"Time for bed!\"",
        "There was a tree with many apples. A bird",
    ];

    private static IReadOnlyList<int> Ids(string text) => Model.Tokenizer.Encode(text, addBos: true);

    private static GenerationRequest Request(int i, bool sampled, int maxTokens = 24) => sampled
        ? new GenerationRequest { MaxNewTokens = maxTokens, Temperature = 0.9f, TopK = 40, Seed = 1000 + i, IgnoreEndOfSequence = true }
        : new GenerationRequest { MaxNewTokens = maxTokens, IgnoreEndOfSequence = true };

    private static GeneratorJob Job(int i, bool sampled, int maxTokens = 24, CancellationToken cancellationToken = default, GenerationRequest? request = null)
    {
        var ids = Ids(Prompts[i % Prompts.Length]);
        request ??= Request(i, sampled, maxTokens);
        return new GeneratorJob(() => new Generator(Model, Model.CreateSequence(), ids, request), ids.Count + request.MaxNewTokens, cancellationToken: cancellationToken);
    }

    private static int[] Alone(int i, bool sampled, int chunk, int maxTokens = 24)
    {
        using var scheduler = new BatchScheduler(Model, new BatchSchedulerOptions { MaxBatchSize = 1, PrefillChunkTokens = chunk });
        var job = Job(i, sampled, maxTokens);
        scheduler.Enqueue(job);
        return [.. job.Completion.GetAwaiter().GetResult().Tokens];
    }

    [Theory]
    [InlineData(false, 256)]
    [InlineData(true, 256)]
    [InlineData(false, 4)]
    [InlineData(true, 5)]
    public async Task Eight_concurrent_requests_give_the_tokens_of_each_alone(bool sampled, int chunk)
    {
        var alone = Enumerable.Range(0, 8).Select(i => Alone(i, sampled, chunk)).ToArray();
        using var scheduler = new BatchScheduler(Model, new BatchSchedulerOptions { MaxBatchSize = 8, PrefillChunkTokens = chunk });
        var jobs = Enumerable.Range(0, 8).Select(i => Job(i, sampled)).ToArray();
        foreach (var job in jobs) scheduler.Enqueue(job);
        var streamed = await Task.WhenAll(jobs.Select(async job =>
        {
            var tokens = new List<int>();
            await foreach (var token in job.Tokens) tokens.Add(token.Id);
            return tokens.ToArray();
        }));
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(alone[i], streamed[i]);
            Assert.Equal(alone[i], (await jobs[i].Completion).Tokens);
        }
        Assert.Equal(0, scheduler.ReservedTokens);
        // Batched: far fewer steps than the requests' steps one after another.
        Assert.True(scheduler.StepCount < 8 * 24, $"{scheduler.StepCount} steps");
    }

    [Fact]
    public void Plain_generation_equals_the_scheduler_for_a_prompt_within_one_chunk()
    {
        var ids = Ids(Prompts[0]);
        using var sequence = Model.CreateSequence();
        var plain = new Generator(Model, sequence, ids, Request(0, sampled: true)).Run().Tokens;
        Assert.Equal(plain, Alone(0, sampled: true, chunk: 256));
    }

    [Fact]
    public async Task A_cancelled_request_leaves_at_once_frees_its_kv_and_the_others_continue()
    {
        const int VictimTokens = 400;
        var alone = Enumerable.Range(0, 4).Select(i => Alone(i, sampled: false, chunk: 256, maxTokens: 40)).ToArray();
        using var scheduler = new BatchScheduler(Model);
        using var cancel = new CancellationTokenSource();
        Sequence? cancelledSequence = null;
        var ids = Ids(Prompts[1]);
        var victim = new GeneratorJob(() =>
        {
            // A long budget, so a scheduler that runs ahead of a starved reader (a loaded CI machine) still cannot finish it
            // before the reader cancels.
            var generator = new Generator(Model, cancelledSequence = Model.CreateSequence(), ids, Request(1, false, VictimTokens));
            return generator;
        }, ids.Count + VictimTokens, cancellationToken: cancel.Token);
        var jobs = new[] { Job(0, false, 40), victim, Job(2, false, 40), Job(3, false, 40) };
        foreach (var job in jobs) scheduler.Enqueue(job);
        int seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var token in victim.Tokens)
                if (++seen == 3) cancel.Cancel();
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => victim.Completion);
        Assert.True(seen < VictimTokens);
        Assert.True(cancelledSequence!.IsDisposed);
        foreach (int i in new[] { 0, 2, 3 }) Assert.Equal(alone[i], (await jobs[i].Completion).Tokens);
        Assert.Equal(0, scheduler.ReservedTokens);
    }

    [Fact]
    public async Task A_full_kv_cache_queues_the_request_until_another_finishes()
    {
        int need = Ids(Prompts[0]).Count + 24;
        using var scheduler = new BatchScheduler(Model, new BatchSchedulerOptions { MaxKvCacheTokens = need + 4, WhenKvCacheFull = KvCacheFullBehavior.Queue });
        var first = Job(0, false);
        var second = Job(0, false);
        scheduler.Enqueue(first);
        scheduler.Enqueue(second);
        Assert.True(scheduler.ActiveCount <= 1);
        var a = await first.Completion;
        var b = await second.Completion;
        Assert.Equal(a.Tokens, b.Tokens);
        Assert.Equal(0, scheduler.ReservedTokens);
    }

    [Fact]
    public async Task A_full_kv_cache_rejects_with_a_specific_exception_under_Reject()
    {
        int need = Ids(Prompts[0]).Count + 24;
        using var scheduler = new BatchScheduler(Model, new BatchSchedulerOptions { MaxKvCacheTokens = need + 4, WhenKvCacheFull = KvCacheFullBehavior.Reject });
        var first = Job(0, false);
        scheduler.Enqueue(first);
        var error = Assert.Throws<KvCacheFullException>(() => scheduler.Enqueue(Job(0, false)));
        Assert.Contains("MaxKvCacheTokens", error.Message);
        Assert.Contains("Reject", error.Message);
        Assert.Equal(need, error.RequestedTokens);
        Assert.Equal(need + 4, error.MaxTokens);
        await first.Completion;
        scheduler.Enqueue(Job(0, false)); // room again once the first finished
    }

    [Fact]
    public void A_request_larger_than_the_bound_is_rejected_even_under_Queue()
    {
        using var scheduler = new BatchScheduler(Model, new BatchSchedulerOptions { MaxKvCacheTokens = 10 });
        var error = Assert.Throws<KvCacheFullException>(() => scheduler.Enqueue(Job(0, false)));
        Assert.Contains("MaxKvCacheTokens is 10", error.Message);
    }

    [Fact]
    public async Task A_failing_request_fails_alone()
    {
        var alone = Enumerable.Range(0, 3).Select(i => Alone(i, sampled: true, chunk: 256)).ToArray();
        using var scheduler = new BatchScheduler(Model);
        var failing = Job(1, true, request: new GenerationRequest { MaxNewTokens = 24, Constraint = new FailingConstraint(after: 5) });
        var jobs = new[] { Job(0, true), failing, Job(2, true) };
        foreach (var job in jobs) scheduler.Enqueue(job);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => failing.Completion);
        Assert.Equal("constraint broke", error.Message);
        Assert.Equal(alone[0], (await jobs[0].Completion).Tokens);
        Assert.Equal(alone[2], (await jobs[2].Completion).Tokens);
        Assert.Equal(0, scheduler.ReservedTokens);
    }

    [Fact]
    public async Task A_late_request_is_admitted_into_the_running_batch()
    {
        using var scheduler = new BatchScheduler(Model);
        // The long job holds at its 5th token until the short one is queued, so it cannot finish before the short one
        // arrives however late the test thread runs; then it still has ~195 steps to go while the short one needs 5.
        using var queued = new ManualResetEventSlim();
        var longJob = Job(0, false, request: new GenerationRequest { MaxNewTokens = 200, IgnoreEndOfSequence = true, Constraint = new GateConstraint(5, queued) });
        scheduler.Enqueue(longJob);
        await using (var tokens = longJob.Tokens.GetAsyncEnumerator())
        {
            Assert.True(await tokens.MoveNextAsync());
        }
        var shortJob = Job(2, false, maxTokens: 5);
        scheduler.Enqueue(shortJob);
        queued.Set();
        await shortJob.Completion;
        Assert.False(longJob.Completion.IsCompleted, "the short request waited for the long one");
        Assert.Equal(Alone(2, false, 256, maxTokens: 5), (await shortJob.Completion).Tokens);
        await longJob.Completion;
    }

    [Fact]
    public void Options_are_validated_by_name()
    {
        Assert.Contains("MaxBatchSize", Assert.Throws<ArgumentOutOfRangeException>(() => new BatchScheduler(Model, new BatchSchedulerOptions { MaxBatchSize = 0 })).Message);
        Assert.Contains("PrefillChunkTokens", Assert.Throws<ArgumentOutOfRangeException>(() => new BatchScheduler(Model, new BatchSchedulerOptions { PrefillChunkTokens = 0 })).Message);
        Assert.Contains("PrefillTokensPerStep", Assert.Throws<ArgumentOutOfRangeException>(() => new BatchScheduler(Model, new BatchSchedulerOptions { PrefillTokensPerStep = 0 })).Message);
        Assert.Contains("MaxKvCacheTokens", Assert.Throws<ArgumentOutOfRangeException>(() => new BatchScheduler(Model, new BatchSchedulerOptions { MaxKvCacheTokens = 0 })).Message);
        Assert.Contains("WhenKvCacheFull", Assert.Throws<ArgumentOutOfRangeException>(() => new BatchScheduler(Model, new BatchSchedulerOptions { WhenKvCacheFull = (KvCacheFullBehavior)7 })).Message);
        var options = new BatchSchedulerOptions { MaxBatchSize = 3 };
        var copy = options.Clone();
        copy.MaxBatchSize = 5;
        Assert.Equal(3, options.MaxBatchSize);
    }

    [Fact]
    public async Task Disposing_ends_queued_and_running_requests_cancelled()
    {
        var scheduler = new BatchScheduler(Model, new BatchSchedulerOptions { MaxBatchSize = 1 });
        var running = Job(0, false, maxTokens: 200);
        var queued = Job(1, false);
        scheduler.Enqueue(running);
        scheduler.Enqueue(queued);
        scheduler.Dispose();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued.Completion);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running.Completion);
        Assert.Throws<ObjectDisposedException>(() => scheduler.Enqueue(Job(2, false)));
    }

    [Theory]
    [InlineData(false, 256, 512)]
    [InlineData(true, 256, 512)]
    [InlineData(false, 8, 20)]
    [InlineData(true, 4, 8)]
    public async Task Several_prompts_prefill_in_one_step_and_give_the_tokens_of_each_alone(bool sampled, int chunk, int budget)
    {
        var alone = Enumerable.Range(0, 8).Select(i => Alone(i, sampled, chunk)).ToArray();
        var recorder = new StepRecorder(Model);
        long steps;
        int[][] streamed;
        using (var scheduler = new BatchScheduler(recorder, new BatchSchedulerOptions { MaxBatchSize = 8, PrefillChunkTokens = chunk, PrefillTokensPerStep = budget }))
        {
            var jobs = Enumerable.Range(0, 8).Select(i => Job(i, sampled)).ToArray();
            foreach (var job in jobs) scheduler.Enqueue(job);
            streamed = await Task.WhenAll(jobs.Select(async job => (await job.Completion).Tokens.ToArray()));
            steps = scheduler.StepCount;
        }
        for (int i = 0; i < 8; i++) Assert.Equal(alone[i], streamed[i]);
        // Every step kept within the budget (or ran a single chunk), and some step carried several prompts' chunks.
        Assert.All(recorder.PrefillTokens, p => Assert.True(p.Chunks == 1 || p.Tokens <= budget, $"{p.Chunks} chunks, {p.Tokens} tokens"));
        Assert.Contains(recorder.PrefillTokens, p => p.Chunks > 1);
        int promptTokens = Enumerable.Range(0, 8).Sum(i => Ids(Prompts[i]).Count);
        Assert.True(recorder.PrefillTokens.Count(p => p.Chunks > 0) < promptTokens / (double)Math.Min(chunk, budget) + 8, $"{recorder.PrefillTokens.Count(p => p.Chunks > 0)} prefill steps");
        Assert.True(steps < 8 * 24);
    }

    [Fact]
    public async Task A_prefill_budget_of_one_token_still_runs_a_chunk_per_step_and_decodes_beside_it()
    {
        var alone = Enumerable.Range(0, 4).Select(i => Alone(i, false, 256)).ToArray();
        var recorder = new StepRecorder(Model);
        using var scheduler = new BatchScheduler(recorder, new BatchSchedulerOptions { MaxBatchSize = 4, PrefillTokensPerStep = 1 });
        var jobs = Enumerable.Range(0, 4).Select(i => Job(i, false)).ToArray();
        foreach (var job in jobs) scheduler.Enqueue(job);
        for (int i = 0; i < 4; i++) Assert.Equal(alone[i], (await jobs[i].Completion).Tokens);
        Assert.All(recorder.PrefillTokens, p => Assert.True(p.Chunks <= 1));
    }

    /// <summary>The real model, recording each step's prefill chunks (steps that want only the last row's logits).</summary>
    private sealed class StepRecorder(LanguageModel model) : IStepModel
    {
        public List<(int Chunks, int Tokens)> PrefillTokens { get; } = [];

        public QuickSilver.Engine.Tokenization.ITokenizer Tokenizer => model.Tokenizer;

        public int VocabSize => model.VocabSize;

        public IReadOnlyCollection<int> EndOfSequenceIds => model.EndOfSequenceIds;

        public Sequence CreateSequence(SequenceOptions options) => model.CreateSequence(options);

        public IReadOnlyList<StepLogits> Decode(IReadOnlyList<SequenceStep> batch)
        {
            var prefill = batch.Where(s => s.LastRowOnly).ToArray();
            PrefillTokens.Add((prefill.Length, prefill.Sum(s => s.Tokens.Count)));
            return model.Decode(batch);
        }
    }

    /// <summary>Holds generation at its <paramref name="at"/>-th token until <paramref name="open"/> is set.</summary>
    private sealed class GateConstraint(int at, ManualResetEventSlim open) : ITokenConstraint
    {
        private int _accepted;

        public bool IsComplete => false;

        public void Apply(Span<float> logits)
        {
            if (_accepted == at) open.Wait(TimeSpan.FromSeconds(30));
        }

        public void Accept(int tokenId) => _accepted++;
    }

    private sealed class FailingConstraint(int after) : ITokenConstraint
    {
        private int _accepted;

        public bool IsComplete => false;

        public void Apply(Span<float> logits)
        {
            if (_accepted >= after) throw new InvalidOperationException("constraint broke");
        }

        public void Accept(int tokenId) => _accepted++;
    }
}
