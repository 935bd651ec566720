using Microsoft.Extensions.AI;
using QuickSilver.Extensions.AI.Chat;
using QuickSilver.Extensions.AI.Tests.Fakes;

namespace QuickSilver.Extensions.AI.Tests.Chat;

public class SessionCacheTests
{
    private static async Task<ChatResponse> Turn(IChatClient client, List<ChatMessage> history, string user, string? conversationId)
    {
        history.Add(new ChatMessage(ChatRole.User, user));
        ChatResponse response = await client.GetResponseAsync(history, new ChatOptions { ConversationId = conversationId });
        history.AddRange(response.Messages);
        return response;
    }

    [Fact]
    public async Task SecondTurn_ReusesThePrefixOfTheFirst()
    {
        using var client = TestClients.Create(out _, _ => " world world");
        var history = new List<ChatMessage>();
        ChatResponse first = await Turn(client, history, "Hi", "c1");
        ChatResponse second = await Turn(client, history, "More", "c1");
        Assert.Equal(0, first.Usage!.CachedInputTokenCount);
        // Turn 2's prompt starts with turn 1's prompt plus the reply the cache already holds (" world world" re-encodes identically after "Assistant:").
        Assert.Equal(first.Usage.InputTokenCount + first.Usage.OutputTokenCount, second.Usage!.CachedInputTokenCount);
    }

    [Fact]
    public async Task LeastRecentlyUsedConversation_IsEvictedBeyondTheBound()
    {
        using var client = TestClients.Create(out FakeBackend backend, _ => "Hello world", o => o.MaxCachedConversations = 2);
        var a = new List<ChatMessage>();
        var b = new List<ChatMessage>();
        var c = new List<ChatMessage>();
        await Turn(client, a, "alpha", "A");
        await Turn(client, b, "beta", "B");
        await Turn(client, a, "alpha again", "A");    // A is now the most recent
        await Turn(client, c, "gamma", "C");          // evicts B
        Assert.Equal(["C", "A"], client.Sessions.Keys);
        Assert.Equal(1, client.Sessions.Evictions);
        Assert.Equal(3, backend.Sessions.Count);
        Assert.True(backend.Sessions[1].Disposed);     // B's session
        Assert.False(backend.Sessions[0].Disposed);

        ChatResponse bAgain = await Turn(client, b, "beta again", "B");   // B starts over; A is evicted now
        Assert.Equal(0, bAgain.Usage!.CachedInputTokenCount);
        Assert.Equal(["B", "C"], client.Sessions.Keys);
        ChatResponse cAgain = await Turn(client, c, "gamma again", "C");
        Assert.True(cAgain.Usage!.CachedInputTokenCount > 0);
    }

    [Fact]
    public async Task WithoutConversationId_TheLongestMatchingPrefixIsReused()
    {
        using var client = TestClients.Create(out _, _ => " world world", o => o.MaxCachedConversations = 3);
        var story = new List<ChatMessage>();
        await Turn(client, story, "Tell me a story", null);
        await client.GetResponseAsync([new(ChatRole.User, "Unrelated")]);
        ChatResponse continued = await Turn(client, story, "Go on", null);
        int firstPrompt = new FakeTokenizer().Encode("User: Tell me a story\nAssistant:", addBos: true).Count;
        Assert.Equal(firstPrompt + 2, continued.Usage!.CachedInputTokenCount);
        Assert.Equal(2, client.Sessions.Count);   // "Unrelated" shares only "User: " with the story, so it got its own session
    }

    [Fact]
    public void Capacity_BelowOne_Throws()
        => Assert.Throws<ArgumentOutOfRangeException>(() => new SessionCache(new FakeBackend(), 0));

    [Fact]
    public void CommonPrefix_CountsMatchingLeadingIds()
    {
        Assert.Equal(2, SessionCache.CommonPrefix([1, 2, 3], [1, 2, 4, 5]));
        Assert.Equal(0, SessionCache.CommonPrefix([], [1]));
        Assert.Equal(3, SessionCache.CommonPrefix([1, 2, 3], [1, 2, 3]));
    }

    [Fact]
    public void Busy_sessions_are_never_shared_nor_evicted()
    {
        var backend = new FakeBackend();
        using var cache = new SessionCache(backend, capacity: 1);
        var options = new QuickSilver.Engine.Generation.SequenceOptions();
        var first = cache.Acquire("c1", [1, 2, 3], options);
        var again = cache.Acquire("c1", [1, 2, 3], options);   // the conversation is running: a temporary sequence
        Assert.NotSame(first, again);
        var other = cache.Acquire("c2", [4, 5], options);      // over capacity, but c1 is busy so it stays
        Assert.Equal(2, cache.Count);
        Assert.Equal(3, cache.BusyCount);
        cache.Release(again);
        Assert.True(again.IsDisposed);
        Assert.Equal(1, cache.TemporaryDisposed);
        cache.Release(first);                                   // back within capacity: the idle least recent one goes
        Assert.Equal(1, cache.Count);
        Assert.True(first.IsDisposed);
        Assert.False(other.IsDisposed);
        cache.Release(other);
        Assert.Equal(0, cache.BusyCount);
    }
}
