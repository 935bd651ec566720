using Microsoft.Extensions.AI;
using QuickSilver.Engine.Generation;
using QuickSilver.Extensions.AI.Tests.Fakes;

namespace QuickSilver.Extensions.AI.Tests.Chat;

/// <summary>Conformance-style tests (after Microsoft.Extensions.AI's integration tests) against the deterministic fake backend.</summary>
public class ChatClientConformanceTests
{
    private static List<ChatMessage> Ask(string text) => [new(ChatRole.User, text)];

    [Fact]
    public async Task GetResponse_ReturnsScriptedTextWithIdsAndMetadata()
    {
        using var client = TestClients.Create(out _, _ => "Hello world");
        DateTimeOffset before = DateTimeOffset.UtcNow;
        ChatResponse response = await client.GetResponseAsync(Ask("Hi"));

        Assert.Equal("Hello world", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal("fake-model", response.ModelId);
        Assert.StartsWith("qs-", response.ResponseId);
        ChatMessage message = Assert.Single(response.Messages);
        Assert.Equal(ChatRole.Assistant, message.Role);
        Assert.StartsWith("msg-", message.MessageId);
        Assert.NotNull(response.CreatedAt);
        Assert.InRange(response.CreatedAt!.Value, before.AddSeconds(-1), DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Null(response.ConversationId);
    }

    [Fact]
    public async Task Usage_CountsPromptAndOutputTokens_AndQuickSilverFigures()
    {
        using var client = TestClients.Create(out FakeBackend backend, _ => "Hello world");
        ChatResponse response = await client.GetResponseAsync(Ask("Hi"), new ChatOptions { AdditionalProperties = new() { ["quicksilver.halting"] = true } });

        // Plain template: BOS + "User: Hi\nAssistant:" as bytes (no multi-byte piece matches).
        int promptTokens = 1 + "User: Hi\nAssistant:".Length;
        UsageDetails usage = Assert.IsType<UsageDetails>(response.Usage);
        Assert.Equal(promptTokens, usage.InputTokenCount);
        Assert.Equal(2, usage.OutputTokenCount);   // "Hello", " world"
        Assert.Equal(promptTokens + 2, usage.TotalTokenCount);
        Assert.Equal(0, usage.CachedInputTokenCount);
        Assert.Equal(4, usage.AdditionalCounts!["quicksilver.halted_token_layers"]);
        Assert.Equal(1000 * (promptTokens + 2), usage.AdditionalCounts["quicksilver.dense_flops"]);
        Assert.Equal(600 * (promptTokens + 2), usage.AdditionalCounts["quicksilver.actual_flops"]);
        Assert.Equal(3, usage.AdditionalCounts["quicksilver.skipped_kv_writes"]);
        Assert.Equal(0, usage.AdditionalCounts["quicksilver.fused_tokens"]);
        Assert.Equal(16 * (promptTokens + 2), usage.AdditionalCounts["quicksilver.kv_bytes"]);
    }

    [Fact]
    public async Task Response_CarriesTimingsAndPolicyName()
    {
        using var client = TestClients.Create(out _, _ => "Hello world");
        var options = new ChatOptions { AdditionalProperties = new() { ["quicksilver.policy"] = "safe" } };
        ChatResponse response = await client.GetResponseAsync(Ask("Hi"), options);
        Assert.Equal(10_000, response.Usage!.AdditionalCounts![QuickSilverChatClient.TimeToFirstTokenKey]);
        Assert.Equal(30_000, response.Usage.AdditionalCounts[QuickSilverChatClient.TotalTimeKey]);   // prefill, "Hello" and " world" steps of 10 ms
        Assert.Equal("safe", response.AdditionalProperties![QuickSilverChatClient.PolicyNameKey]);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync(Ask("Hi"), options)) updates.Add(u);
        Assert.Equal("safe", updates[^1].AdditionalProperties![QuickSilverChatClient.PolicyNameKey]);
    }

    [Fact]
    public async Task Streaming_MergesToTheNonStreamedResponse()
    {
        using var client = TestClients.Create(out _, _ => "Once upon a time there was é 日本 END");
        // Drafting off: when the second request finds the first reply in its context, prompt lookup may emit the whole reply in
        // one step, and this test is about how streamed pieces merge.
        var options = new ChatOptions
        {
            Temperature = 0.8f, Seed = 7, MaxOutputTokens = 40, AdditionalProperties = new() { [QuickSilverChatOptionKeys.PromptLookup] = false },
        };
        ChatResponse direct = await client.GetResponseAsync(Ask("Tell"), options);
        var updates = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(Ask("Tell"), options)) updates.Add(update);
        ChatResponse merged = updates.ToChatResponse();

        Assert.True(updates.Count(u => u.Text.Length > 0) > 1, "the reply should arrive in several pieces");
        Assert.Equal(direct.Text, merged.Text);
        Assert.Equal(direct.FinishReason, merged.FinishReason);
        Assert.Equal(direct.Usage!.InputTokenCount, merged.Usage!.InputTokenCount);
        Assert.Equal(direct.Usage.OutputTokenCount, merged.Usage.OutputTokenCount);
        Assert.Equal(direct.ModelId, merged.ModelId);
        Assert.Equal(direct.Messages.Count, merged.Messages.Count);

        ChatResponseUpdate last = updates[^1];
        Assert.NotNull(last.FinishReason);
        Assert.Contains(last.Contents, c => c is UsageContent);
        Assert.All(updates, u => Assert.Equal(updates[0].ResponseId, u.ResponseId));
        Assert.All(updates, u => Assert.Equal(updates[0].MessageId, u.MessageId));
    }

    [Fact]
    public async Task StopSequence_AcrossTokenBoundaries_EndsReplyWithoutEmittingIt()
    {
        // "Once upon a time" is four tokens; the stop text "on a ti" starts inside " upon" and ends inside " time".
        using var client = TestClients.Create(out FakeBackend backend, _ => "Hello Once upon a time there");
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync(Ask("x"), new ChatOptions { StopSequences = ["on a ti"] })) updates.Add(u);
        ChatResponse response = updates.ToChatResponse();

        Assert.Equal("Hello Once up", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.DoesNotContain(updates, u => u.Text.Contains("on a", StringComparison.Ordinal));
        // Generation stopped at the token that completed the stop text.
        Assert.Equal(backend.FakeTokenizer.Encode("Hello Once upon a time", addBos: false).Count, response.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task StopSequence_PrefixThatDoesNotComplete_IsEmittedAtTheEnd()
    {
        using var client = TestClients.Create(out _, _ => "Hello wor");
        ChatResponse response = await client.GetResponseAsync(Ask("x"), new ChatOptions { StopSequences = ["world"] });
        Assert.Equal("Hello wor", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public async Task TemplateStopSequence_EndsThePlainFormatTurn()
    {
        using var client = TestClients.Create(out _, _ => "Fine.\nUser: and you?");
        ChatResponse response = await client.GetResponseAsync(Ask("x"));
        Assert.Equal("Fine.", response.Text);
    }

    [Fact]
    public async Task MaxOutputTokens_LimitsOutputAndReportsLength()
    {
        using var client = TestClients.Create(out FakeBackend backend, _ => "Once upon a time there was");
        ChatResponse response = await client.GetResponseAsync(Ask("x"), new ChatOptions { MaxOutputTokens = 3 });
        Assert.Equal("Once upon a", response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(3, response.Usage!.OutputTokenCount);
        Assert.True(backend.Requests.TryPeek(out var first));
        Assert.Equal(3, first.Request.MaxNewTokens);
    }

    [Fact]
    public async Task Seed_SameSeedSameText_DifferentSeedsDiffer()
    {
        using var client = TestClients.Create(out _, _ => "Once upon a time there was");
        async Task<string> Run(long seed) => (await client.GetResponseAsync(Ask("x"), new ChatOptions { Temperature = 1.5f, Seed = seed, MaxOutputTokens = 12 })).Text;
        string a = await Run(1), b = await Run(1);
        Assert.Equal(a, b);
        var others = new HashSet<string>();
        for (int s = 2; s < 6; s++) others.Add(await Run(s));
        Assert.Contains(others, o => o != a);
    }

    [Fact]
    public async Task Cancellation_StopsWithinOneToken_AndTheClientStaysUsable()
    {
        using var client = TestClients.Create(out FakeBackend backend, _ => "Once upon a time there was");
        using var cts = new CancellationTokenSource();
        int tokens = 0;
        backend.AfterToken = _ =>
        {
            if (++tokens == 2) cts.Cancel();
        };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync(Ask("x"), new ChatOptions { MaxOutputTokens = 50 }, cts.Token)) { }
        });
        Assert.Equal(2, tokens);

        backend.AfterToken = null;
        ChatResponse next = await client.GetResponseAsync(Ask("x"));
        Assert.Equal("Once upon a time there was", next.Text);
    }

    [Fact]
    public async Task AbandoningTheStream_CancelsTheDecode()
    {
        using var client = TestClients.Create(out FakeBackend backend, _ => "Once upon a time there was the END");
        using var abandoned = new ManualResetEventSlim();
        int tokens = 0;
        backend.AfterToken = _ =>
        {
            if (Interlocked.Increment(ref tokens) == 1) abandoned.Wait(TimeSpan.FromSeconds(30));
        };
        await foreach (var update in client.GetStreamingResponseAsync(Ask("x")))
        {
            if (update.Text.Length > 0) break;
        }
        abandoned.Set();
        backend.AfterToken = null;
        ChatResponse next = await client.GetResponseAsync(Ask("y"));   // queued behind the abandoned one
        Assert.Equal(1, tokens);
        Assert.Equal("Once upon a time there was the END", next.Text);
    }

    [Fact]
    public async Task CancellingAQueuedRequest_ReturnsAtOnce_AndItNeverRuns()
    {
        using var gate = new ManualResetEventSlim(false);
        var backend = new FakeBackend { Gate = gate };
        using var client = TestClients.Create(backend);
        Task<ChatResponse> running = client.GetResponseAsync(Ask("first"));
        Assert.True(await backend.Started.WaitAsync(TimeSpan.FromSeconds(30)));
        using var cts = new CancellationTokenSource();
        Task<ChatResponse> queued = client.GetResponseAsync(Ask("second"), cancellationToken: cts.Token);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);   // while the first still holds the worker
        Assert.False(running.IsCompleted);
        gate.Set();
        await running;
        ChatResponse third = await client.GetResponseAsync(Ask("third"));
        Assert.Equal(["first", "third"], backend.Requests.Select(r => r.Prompt.Contains("first") ? "first" : r.Prompt.Contains("third") ? "third" : "second"));
    }

    [Fact]
    public async Task PreCancelledToken_Throws()
    {
        using var client = TestClients.Create(out _);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync(Ask("x"), cancellationToken: new CancellationToken(true)));
    }

    [Fact]
    public async Task EightConcurrentRequests_MatchSequentialGreedyOutputs()
    {
        using var client = TestClients.Create(out FakeBackend backend, prompt => prompt.Contains('3') ? "Once upon a time" : prompt.Contains('5') ? "Paris" : "Hello world " + prompt.Length);
        var prompts = Enumerable.Range(0, 8).Select(i => $"question {i}").ToList();
        var sequential = new List<string>();
        foreach (string p in prompts) sequential.Add((await client.GetResponseAsync(Ask(p))).Text);
        string[] concurrent = await Task.WhenAll(prompts.Select(p => Task.Run(async () => (await client.GetResponseAsync(Ask(p))).Text)));
        Assert.Equal(sequential, concurrent);
        Assert.Equal(1, backend.ThreadsSeen);   // every decode ran on the client's one worker thread
    }

    [Fact]
    public async Task RequestsRunOnADedicatedThread_NotTheCallers()
    {
        using var client = TestClients.Create(out FakeBackend backend);
        await client.GetResponseAsync(Ask("x"));
        Assert.Equal(1, backend.ThreadsSeen);
        await Task.Run(() => client.GetResponseAsync(Ask("y")));
        Assert.Equal(1, backend.ThreadsSeen);
    }

    [Fact]
    public void GetService_ReturnsMetadataPolicyAndSelf_NullForKeys()
    {
        using var client = TestClients.Create(out _);
        var metadata = Assert.IsType<ChatClientMetadata>(client.GetService(typeof(ChatClientMetadata)));
        Assert.Equal("quicksilver", metadata.ProviderName);
        Assert.Equal("fake-model", metadata.DefaultModelId);
        Assert.Same(client, client.GetService(typeof(QuickSilverChatClient)));
        Assert.Equal("dense", Assert.IsType<QuickSilver.Policies.QuickSilverPolicy>(client.GetService(typeof(QuickSilver.Policies.QuickSilverPolicy))).Name);
        Assert.Null(client.GetService(typeof(ChatClientMetadata), "key"));
        Assert.Null(client.GetService(typeof(string)));
    }

    [Fact]
    public async Task DisposedClient_Throws()
    {
        var client = TestClients.Create(out _);
        client.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.GetResponseAsync(Ask("x")));
    }

    [Fact]
    public async Task PromptLongerThanContext_ThrowsContextLengthExceeded()
    {
        var backend = new FakeBackend(contextLength: 32);
        using var client = TestClients.Create(backend);
        var ex = await Assert.ThrowsAsync<ContextLengthExceededException>(() => client.GetResponseAsync(Ask(new string('x', 40))));
        Assert.Equal(32, ex.ContextLength);
        Assert.True(ex.PromptTokens > 32);
        Assert.Empty(backend.Requests);
    }

    [Fact]
    public async Task GenerationHittingTheContextEnd_FinishesWithLength()
    {
        var backend = new FakeBackend(_ => "Once upon a time there was the END", contextLength: 24);
        using var client = TestClients.Create(backend);
        ChatResponse response = await client.GetResponseAsync(Ask("x"));   // 1 + 19 prompt tokens leave 4
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(24 - response.Usage!.InputTokenCount, response.Usage.OutputTokenCount);
    }
}
