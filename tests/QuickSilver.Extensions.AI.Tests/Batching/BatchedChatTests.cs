using Microsoft.Extensions.AI;
using QuickSilver.Engine.Scheduling;
using QuickSilver.Extensions.AI.Tests.Fakes;

namespace QuickSilver.Extensions.AI.Tests.Batching;

/// <summary>
/// Continuous batching through the client, on the real generation loop and scheduler (the fake is only a logits source):
/// concurrent requests share steps yet each gets what it gets alone; cancellation, failures and a full K/V stay with their
/// request; a late request joins the running batch.
/// </summary>
public sealed class BatchedChatTests
{
    private static List<ChatMessage> Ask(string text) => [new(ChatRole.User, text)];

    // A reply that depends on the prompt, so every request of a batch writes something else.
    private static string Script(string prompt) => "Once upon a" + string.Concat(Enumerable.Repeat(" time the", 1 + (prompt.Length % 4))) + " END";

    private static ChatOptions Options(int i, bool sampled) => sampled
        ? new ChatOptions { MaxOutputTokens = 16, Temperature = 1.5f, Seed = 100 + i }
        : new ChatOptions { MaxOutputTokens = 16 };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Eight_concurrent_requests_give_what_each_gives_alone(bool sampled)
    {
        var alone = new string[8];
        for (int i = 0; i < 8; i++)
        {
            using var single = TestClients.Create(out _, Script);
            alone[i] = (await single.GetResponseAsync(Ask("request number " + new string('x', i)), Options(i, sampled))).Text;
        }

        using var client = TestClients.Create(out FakeBackend backend, Script);
        backend.Gate = new ManualResetEventSlim(false);
        var tasks = Enumerable.Range(0, 8).Select(i => client.GetResponseAsync(Ask("request number " + new string('x', i)), Options(i, sampled))).ToArray();
        // Hold the first admitted request until all eight are queued, so they run as one batch.
        await backend.Started.WaitAsync();
        backend.Gate.Set();
        var responses = await Task.WhenAll(tasks);
        for (int i = 0; i < 8; i++) Assert.Equal(alone[i], responses[i].Text);
        Assert.True(backend.MaxBatchSeen > 1, $"largest batch {backend.MaxBatchSeen}");
        Assert.Equal(0, client.Sessions.BusyCount);
    }

    [Fact]
    public async Task A_cancelled_request_leaves_the_batch_and_gives_its_session_back()
    {
        using var client = TestClients.Create(out FakeBackend backend, _ => "the" + string.Concat(Enumerable.Repeat(" the", 60)) + " END");
        using var cancel = new CancellationTokenSource();
        var others = Enumerable.Range(0, 3).Select(i => client.GetResponseAsync(Ask("other " + i), new ChatOptions { MaxOutputTokens = 80 })).ToList();
        int pieces = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync(Ask("victim"), new ChatOptions { MaxOutputTokens = 80 }, cancel.Token))
                if (update.Text.Length > 0 && ++pieces == 2) cancel.Cancel();
        });
        foreach (var response in await Task.WhenAll(others)) Assert.Equal("the" + string.Concat(Enumerable.Repeat(" the", 60)) + " END", response.Text);
        Assert.Equal(0, client.Sessions.BusyCount);
        Assert.NotEmpty((await client.GetResponseAsync(Ask("after"), new ChatOptions { MaxOutputTokens = 16 })).Text);
    }

    [Fact]
    public async Task A_full_kv_cache_queues_the_request_under_Queue()
    {
        using var client = TestClients.Create(out FakeBackend backend, _ => "Hello world", o => { o.MaxKvCacheTokens = 60; o.MaxOutputTokens = 20; });
        backend.Gate = new ManualResetEventSlim(false);
        var first = client.GetResponseAsync(Ask("first"));
        await backend.Started.WaitAsync();
        var second = client.GetResponseAsync(Ask("second"));
        Assert.False(second.IsCompleted);
        backend.Gate.Set();
        Assert.Equal("Hello world", (await first).Text);
        Assert.Equal("Hello world", (await second).Text);
        Assert.Equal(1, backend.MaxBatchSeen); // the second waited for the first's K/V
    }

    [Fact]
    public async Task A_full_kv_cache_rejects_with_KvCacheFullException_under_Reject()
    {
        using var client = TestClients.Create(out FakeBackend backend, _ => "Hello world",
            o => { o.MaxKvCacheTokens = 60; o.MaxOutputTokens = 20; o.WhenKvCacheFull = KvCacheFullBehavior.Reject; });
        backend.Gate = new ManualResetEventSlim(false);
        var first = client.GetResponseAsync(Ask("first"));
        await backend.Started.WaitAsync();
        var error = await Assert.ThrowsAsync<KvCacheFullException>(() => client.GetResponseAsync(Ask("second")));
        Assert.Contains("MaxKvCacheTokens = 60", error.Message);
        backend.Gate.Set();
        Assert.Equal("Hello world", (await first).Text);
        Assert.Equal("Hello world", (await client.GetResponseAsync(Ask("third"))).Text);
    }

    [Fact]
    public async Task A_failing_request_fails_alone()
    {
        using var client = TestClients.Create(out FakeBackend backend, p => p.Contains("boom") ? throw new InvalidOperationException("model broke") : "Hello world");
        backend.Gate = new ManualResetEventSlim(false);
        var good = Enumerable.Range(0, 3).Select(i => client.GetResponseAsync(Ask("fine " + i))).ToList();
        var bad = client.GetResponseAsync(Ask("boom"));
        await backend.Started.WaitAsync();
        backend.Gate.Set();
        Assert.Equal("model broke", (await Assert.ThrowsAsync<InvalidOperationException>(() => bad)).Message);
        foreach (var response in await Task.WhenAll(good)) Assert.Equal("Hello world", response.Text);
        Assert.Equal(0, client.Sessions.BusyCount);
    }

    [Fact]
    public async Task A_late_request_joins_the_running_batch_without_waiting_for_the_long_one()
    {
        string longReply = "the" + string.Concat(Enumerable.Repeat(" the", 200)) + " END";
        using var client = TestClients.Create(out FakeBackend backend, p => p.Contains("long") ? longReply : "Hello world");
        using var enqueued = new ManualResetEventSlim(false);
        int steps = 0;
        // The long request's fifth step waits until the short request is queued: from then on both share the batch. Each later
        // token takes 2 ms, so the long reply still runs for ~0.4 s after the short one ends: without it, a test thread delayed
        // on a loaded machine could look only after the long reply had finished too (seen in full-suite runs).
        backend.AfterToken = _ =>
        {
            int step = Interlocked.Increment(ref steps);
            if (step == 5) Assert.True(enqueued.Wait(TimeSpan.FromSeconds(30)));
            else if (step > 5) Thread.Sleep(2);
        };
        // Drafting off: its repetitive reply would otherwise be drafted many tokens per step, and this test is about admission.
        var longTask = client.GetResponseAsync(Ask("long"), new ChatOptions
        {
            MaxOutputTokens = 250, AdditionalProperties = new() { [QuickSilverChatOptionKeys.PromptLookup] = false },
        });
        await backend.Started.WaitAsync();
        var shortTask = client.GetResponseAsync(Ask("short"), new ChatOptions { MaxOutputTokens = 8 });
        enqueued.Set();
        Assert.Equal("Hello world", (await shortTask).Text);
        Assert.False(longTask.IsCompleted, "the short request waited for the long one");
        Assert.Equal(longReply, (await longTask).Text);
    }

    [Fact]
    public void Batching_options_are_validated_by_name()
    {
        var failures = QuickSilverOptionsValidator.GetFailures(new QuickSilverOptions
        {
            ModelPath = "x", MaxBatchSize = 0, PrefillChunkTokens = 0, PrefillTokensPerStep = 0, MaxKvCacheTokens = 0, WhenKvCacheFull = (KvCacheFullBehavior)9,
        }).ToList();
        Assert.Contains(failures, f => f.StartsWith("QuickSilver:MaxBatchSize", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("QuickSilver:PrefillChunkTokens", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("QuickSilver:PrefillTokensPerStep", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("QuickSilver:MaxKvCacheTokens", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("QuickSilver:WhenKvCacheFull", StringComparison.Ordinal));
        var options = new QuickSilverOptions { MaxBatchSize = 3, MaxKvCacheTokens = 100, WhenKvCacheFull = KvCacheFullBehavior.Reject };
        var copy = options.Clone();
        Assert.Equal((3, 100, KvCacheFullBehavior.Reject), (copy.MaxBatchSize, copy.MaxKvCacheTokens, copy.WhenKvCacheFull));
    }
}
