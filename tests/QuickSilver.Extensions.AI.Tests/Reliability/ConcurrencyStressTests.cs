using Microsoft.Extensions.AI;
using QuickSilver.Extensions.AI.Tests.Fakes;
using QuickSilver.Policies;

namespace QuickSilver.Extensions.AI.Tests.Reliability;

/// <summary>Races on the fake backend, at a scale the real engine would make slow: option reloads against requests, cancellation storms against the session cache.</summary>
public sealed class ConcurrencyStressTests
{
    public const int RacingRequests = 200;

    private static List<ChatMessage> Ask(string text) => [new(ChatRole.User, text)];

    [Fact]
    public async Task OptionsReloadedWhileRequestsRace_EachRequestGetsOneWholePolicy()
    {
        var backend = new FakeBackend();
        using var client = TestClients.Create(backend, o => o.Policy = "dense");
        QuickSilverOptions Dense() => new() { Template = "plain", Policy = "dense" };
        QuickSilverOptions Paper()
        {
            var o = new QuickSilverOptions { Template = "plain", Policy = "paper" };
            o.Lexicons.FullProcessing.Add("reload");
            o.PolicyOverrides.DriftThreshold = 0.25f;
            return o;
        }
        client.UpdateOptions(Paper());
        string paperJson = PolicySerializer.ToJson(client.CurrentPolicy);
        client.UpdateOptions(Dense());
        string denseJson = PolicySerializer.ToJson(client.CurrentPolicy);
        Assert.NotEqual(denseJson, paperJson);

        using var stop = new CancellationTokenSource();
        Task flipper = Task.Run(() =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++) client.UpdateOptions(i % 2 == 0 ? Paper() : Dense());
        });
        Task[] requests = Enumerable.Range(0, RacingRequests).Select(i => Task.Run(() => client.GetResponseAsync(Ask("r" + i), new ChatOptions { MaxOutputTokens = 2 }))).ToArray();
        await ChatTemplateFuzzTests.AssertFinishes(Task.WhenAll(requests), "requests racing option reloads");
        stop.Cancel();
        await flipper;

        var seen = backend.Requests.Select(r => PolicySerializer.ToJson(r.Request.Policy!)).ToList();
        Assert.Equal(RacingRequests, seen.Count);
        Assert.All(seen, json => Assert.True(json == denseJson || json == paperJson, "a request saw a policy mixed from two option sets"));
    }

    [Fact]
    public async Task CancellationStormOverManyConversations_NeverUsesAnEvictedSession()
    {
        var backend = new FakeBackend(_ => "Once upon a time there was a the END");
        using var client = TestClients.Create(backend, o => o.MaxCachedConversations = 2);
        var random = new Random(7);
        var plan = Enumerable.Range(0, RacingRequests).Select(i => (Conversation: "c" + random.Next(10), CancelAfter: random.Next(4))).ToArray();
        int completed = 0, cancelled = 0;

        Task[] requests = plan.Select((p, i) => Task.Run(async () =>
        {
            using var cts = new CancellationTokenSource();
            int pieces = 0;
            try
            {
                await foreach (var update in client.GetStreamingResponseAsync(Ask("turn " + i), new ChatOptions { ConversationId = p.Conversation }, cts.Token))
                {
                    if (update.Text.Length > 0 && ++pieces == p.CancelAfter) cts.Cancel();
                }
                Interlocked.Increment(ref completed);
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref cancelled);
            }
        })).ToArray();
        await ChatTemplateFuzzTests.AssertFinishes(Task.WhenAll(requests), "cancellation storm");

        Assert.Equal(RacingRequests, completed + cancelled);
        Assert.True(cancelled > 0 && completed > 0, $"completed {completed}, cancelled {cancelled}");
        // A request's stream ends just before the scheduler thread releases its sequence, so the session counts settle a moment
        // after the last stream: wait for that (reading only counters and a copied list) before comparing them.
        List<ScriptedSequence> sessions = [];
        bool Settled()
        {
            lock (backend.Sessions) sessions = [.. backend.Sessions];
            return client.Sessions.Count <= 2
                && sessions.Count - client.Sessions.Count == sessions.Count(s => s.Disposed)
                && client.Sessions.Evictions + client.Sessions.TemporaryDisposed == sessions.Count(s => s.Disposed);
        }
        SpinWait.SpinUntil(Settled, TimeSpan.FromSeconds(30));
        // A disposed sequence throws when used, so finishing without ObjectDisposedException already shows no evicted session ran.
        Assert.True(client.Sessions.Count <= 2);
        Assert.Equal(sessions.Count - client.Sessions.Count, sessions.Count(s => s.Disposed));
        // Concurrent turns of one conversation never share a K/V: the later one runs on a temporary sequence, disposed when it ends.
        Assert.Equal(client.Sessions.Evictions + client.Sessions.TemporaryDisposed, sessions.Count(s => s.Disposed));
        Assert.Equal("Once upon a time there was a the END", (await client.GetResponseAsync(Ask("after"))).Text);
    }
}
