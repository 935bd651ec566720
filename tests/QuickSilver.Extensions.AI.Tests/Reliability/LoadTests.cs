using Microsoft.Extensions.AI;
using QuickSilver.Extensions.AI.Tests.RealEngine;

namespace QuickSilver.Extensions.AI.Tests.Reliability;

/// <summary>Concurrency on stories260K: many callers, mid-stream cancellation, interleaved multi-turn conversations, a full session cache.</summary>
[Collection(RealEngineCollection.Name)]
public sealed class LoadTests(Stories260KFixture fixture)
{
    public const int ConcurrentRequests = 16;

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    private static readonly string[] Prompts =
    [
        "Tom", "The cat", "Lily", "A big dog", "Sue and Ben", "The sun", "Mom said", "One day",
        "The bird", "A little girl", "The tree", "Max the dog", "The park", "A red car", "Grandma", "The moon",
    ];

    private static List<ChatMessage> Ask(string text) => [new(ChatRole.User, text)];

    [Theory]
    [InlineData("safe")]
    [InlineData("paper")]
    public async Task SixteenConcurrentRequests_SomeCancelledMidStream_OthersMatchSequentialGreedy(string policy)
    {
        using var client = fixture.CreateClient(o => o.Policy = policy);
        var options = new ChatOptions { MaxOutputTokens = 12 };
        var sequential = new List<string>();
        foreach (string prompt in Prompts) sequential.Add((await client.GetResponseAsync(Ask(prompt), options)).Text);

        bool Cancelled(int i) => i % 4 == 3;
        using var start = new ManualResetEventSlim(false);
        Task<string?>[] tasks = Enumerable.Range(0, ConcurrentRequests).Select(i => Task.Run(async () =>
        {
            start.Wait();
            if (!Cancelled(i))
            {
                return i % 2 == 0
                    ? (await client.GetResponseAsync(Ask(Prompts[i]), options)).Text
                    : (await client.GetStreamingResponseAsync(Ask(Prompts[i]), options).ToChatResponseAsync()).Text;
            }
            using var cts = new CancellationTokenSource();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                await foreach (var update in client.GetStreamingResponseAsync(Ask(Prompts[i]), new ChatOptions { MaxOutputTokens = 200 }, cts.Token))
                {
                    if (update.Text.Length > 0) cts.Cancel();
                }
            });
            return null;
        })).ToArray();
        start.Set();

        await ChatTemplateFuzzTests.AssertFinishes(Task.WhenAll(tasks), $"{ConcurrentRequests} concurrent requests (deadlock?)");
        for (int i = 0; i < ConcurrentRequests; i++)
        {
            string? text = await tasks[i];
            if (Cancelled(i)) Assert.Null(text);
            else Assert.Equal(sequential[i], text);
        }
        // The client is still healthy afterwards.
        Assert.Equal(sequential[0], (await client.GetResponseAsync(Ask(Prompts[0]), options)).Text);
    }

    private static readonly string[][] Turns =
    [
        ["Tell me about a cat", "What did the cat eat?", "And then?"],
        ["Tell me about a boat", "Where did it go?", "Who was there?"],
    ];

    /// <summary>Runs the conversations' turns; with <paramref name="interleaved"/> each turn of every conversation is sent at once.</summary>
    private static async Task<List<List<ChatResponse>>> RunConversations(QuickSilverChatClient client, bool interleaved)
    {
        var histories = Turns.Select(_ => new List<ChatMessage>()).ToList();
        var replies = Turns.Select(_ => new List<ChatResponse>()).ToList();

        async Task TurnAsync(int c, int t)
        {
            histories[c].Add(new ChatMessage(ChatRole.User, Turns[c][t]));
            ChatResponse reply = await client.GetResponseAsync(histories[c], new ChatOptions { ConversationId = "conv-" + c, MaxOutputTokens = 10 });
            histories[c].AddRange(reply.Messages);
            replies[c].Add(reply);
        }

        if (interleaved)
        {
            for (int t = 0; t < Turns[0].Length; t++)
            {
                int turn = t;
                await Task.WhenAll(Enumerable.Range(0, Turns.Length).Select(c => Task.Run(() => TurnAsync(c, turn))));
            }
        }
        else
        {
            for (int c = 0; c < Turns.Length; c++)
            {
                for (int t = 0; t < Turns[c].Length; t++) await TurnAsync(c, t);
            }
        }
        return replies;
    }

    [Theory]
    [InlineData(4, "safe")]    // both conversations keep their KV caches: no cross-talk between them
    [InlineData(1, "safe")]    // the cache holds one: every turn evicts the other conversation, which must be rebuilt, not corrupted
    [InlineData(4, "paper")]   // the same with skipped and packed (quantized) KV entries
    [InlineData(1, "paper")]
    public async Task InterleavedConversations_EqualTheSameConversationsRunAlone(int maxCachedConversations, string policy)
    {
        List<List<ChatResponse>> alone;
        using (var client = fixture.CreateClient(o => { o.MaxCachedConversations = 4; o.Policy = policy; }))
        {
            alone = await RunConversations(client, interleaved: false);
        }

        using var shared = fixture.CreateClient(o => { o.MaxCachedConversations = maxCachedConversations; o.Policy = policy; });
        Task<List<List<ChatResponse>>> run = RunConversations(shared, interleaved: true);
        await ChatTemplateFuzzTests.AssertFinishes(run, "interleaved conversations");
        List<List<ChatResponse>> together = await run;

        for (int c = 0; c < Turns.Length; c++)
        {
            Assert.Equal(alone[c].Select(r => r.Text), together[c].Select(r => r.Text));
        }
        if (maxCachedConversations >= Turns.Length)
        {
            // Later turns really were served from each conversation's own cache.
            Assert.All(together.SelectMany(r => r.Skip(1)), r => Assert.True(r.Usage!.CachedInputTokenCount > 0));
            Assert.Equal(0, shared.Sessions.Evictions);
        }
        else
        {
            // At least one eviction per round of turns, whatever order the two requests of a round ran in.
            Assert.True(shared.Sessions.Evictions >= Turns[0].Length, $"evictions: {shared.Sessions.Evictions}");
            Assert.Equal(1, shared.Sessions.Count);
        }
    }
}
