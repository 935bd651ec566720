using System.Diagnostics;
using Microsoft.Extensions.AI;
using QuickSilver.Extensions.AI.Tests.RealEngine;
using TorchSharp;
using Xunit.Abstractions;

namespace QuickSilver.Extensions.AI.Tests.Reliability;

/// <summary>
/// 300 sequential requests on stories260K mixing non-streaming, streaming, mid-stream cancellation, pre-cancelled tokens, seeded
/// sampling and multi-turn conversations (more conversations than the session cache holds, so it evicts throughout). Every greedy
/// reply must equal the first reply to the same prompt; live tensors must return to the baseline once the client is disposed and
/// stay within the session cache's share while it runs; managed memory and RSS must stay within the stated bounds after warm-up.
/// </summary>
[Collection(RealEngineCollection.Name)]
public sealed class SoakTests(Stories260KFixture fixture, ITestOutputHelper output)
{
    public const int Requests = 300;
    public const int WarmUpRequests = 30;

    /// <summary>Managed heap growth allowed from after warm-up to the end (bytes).</summary>
    public const long ManagedGrowthBound = 16L << 20;

    /// <summary>Resident set growth allowed from after warm-up to the end (bytes): the native allocator may keep freed pages.</summary>
    public const long RssGrowthBound = 128L << 20;

    private static readonly string[] Prompts = ["Once upon a time", "The cat", "Lily and Tom", "A big red ball", "The sun was", "Mom said"];

    private static List<ChatMessage> Ask(string text) => [new(ChatRole.User, text)];

    internal static void Settle()
    {
        for (int i = 0; i < 4; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    private static long ResidentBytes()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    [Theory]
    [InlineData("dense")]
    [InlineData("safe")]
    [InlineData("paper")]   // every mechanism on: halting, KV skipping, fusion, quantization
    public async Task ThreeHundredMixedRequests_LeakNoTensors_AndStayWithinMemoryBounds(string policy)
    {
        // Baseline: the model is loaded, no client exists.
        using (var warmClient = fixture.CreateClient(o => o.Policy = policy))
        {
            await warmClient.GetResponseAsync(Ask("warm"), new ChatOptions { MaxOutputTokens = 4 });
        }
        Settle();
        long tensorsBaseline = torch.Tensor.TotalCount;

        var greedy = new Dictionary<string, string>();
        var conversations = new Dictionary<string, List<ChatMessage>>();
        long managedAfterWarmUp = 0, rssAfterWarmUp = 0, peakTensorsDuringRun = 0;
        int completed = 0, cancelled = 0, preCancelled = 0, streamed = 0;
        const int Capacity = 3;

        using (var client = fixture.CreateClient(o => { o.MaxCachedConversations = Capacity; o.Policy = policy; }))
        {
            for (int i = 0; i < Requests; i++)
            {
                string prompt = Prompts[i % Prompts.Length];
                var options = new ChatOptions { MaxOutputTokens = 8 };
                switch (i % 6)
                {
                    case 0:
                        Check(prompt, (await client.GetResponseAsync(Ask(prompt), options)).Text);
                        completed++;
                        break;
                    case 1:
                        Check(prompt, (await client.GetStreamingResponseAsync(Ask(prompt), options).ToChatResponseAsync()).Text);
                        completed++;
                        streamed++;
                        break;
                    case 2:
                        using (var cts = new CancellationTokenSource())
                        {
                            int pieces = 0;
                            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
                            {
                                await foreach (var update in client.GetStreamingResponseAsync(Ask(prompt), new ChatOptions { MaxOutputTokens = 64 }, cts.Token))
                                {
                                    if (update.Text.Length > 0 && ++pieces == 2) cts.Cancel();
                                }
                            });
                        }
                        cancelled++;
                        break;
                    case 3:
                        using (var cts = new CancellationTokenSource())
                        {
                            cts.Cancel();
                            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync(Ask(prompt), options, cts.Token));
                        }
                        preCancelled++;
                        break;
                    case 4:
                        // Seeded sampling: same seed, same text, even between greedy requests.
                        var sampled = new ChatOptions { MaxOutputTokens = 8, Temperature = 0.8f, Seed = i % 3 };
                        string text = (await client.GetResponseAsync(Ask(prompt), sampled)).Text;
                        Check($"seed {i % 3} {prompt}", text);
                        completed++;
                        break;
                    default:
                        // Multi-turn: five conversations over a cache of three, so sessions are evicted and rebuilt throughout.
                        string id = "conversation-" + (i % 5);
                        if (!conversations.TryGetValue(id, out List<ChatMessage>? history) || history.Count > 6)
                        {
                            history = Ask("Tell me about " + Prompts[i % 5]);
                        }
                        ChatResponse reply = await client.GetResponseAsync(history, new ChatOptions { MaxOutputTokens = 6, ConversationId = id });
                        history.AddRange(reply.Messages);
                        history.Add(new ChatMessage(ChatRole.User, "And then?"));
                        conversations[id] = history;
                        completed++;
                        break;
                }

                if (i == WarmUpRequests - 1)
                {
                    Settle();
                    managedAfterWarmUp = GC.GetTotalMemory(forceFullCollection: true);
                    rssAfterWarmUp = ResidentBytes();
                }
                if (i % 50 == 49)
                {
                    Settle();
                    peakTensorsDuringRun = Math.Max(peakTensorsDuringRun, torch.Tensor.TotalCount);
                }
            }
            Assert.True(client.Sessions.Count <= Capacity);
            Assert.True(client.Sessions.Evictions > 0, "five conversations over three slots must evict");
        }

        Settle();
        long managedEnd = GC.GetTotalMemory(forceFullCollection: true);
        long rssEnd = ResidentBytes();
        long tensorsEnd = torch.Tensor.TotalCount;
        output.WriteLine($"policy {policy}, requests {Requests}: completed {completed} (streamed {streamed}), cancelled mid-stream {cancelled}, pre-cancelled {preCancelled}");
        output.WriteLine($"tensors: baseline {tensorsBaseline}, peak while running {peakTensorsDuringRun}, after dispose {tensorsEnd}");
        output.WriteLine($"managed: after warm-up {managedAfterWarmUp / 1024} KiB, end {managedEnd / 1024} KiB; RSS: after warm-up {rssAfterWarmUp >> 20} MiB, end {rssEnd >> 20} MiB");

        Assert.Equal(Requests, completed + cancelled + preCancelled);
        Assert.Equal(tensorsBaseline, tensorsEnd);
        // While running, only the cached sessions' KV tensors may be alive beyond the baseline: per layer, LayerKvCache holds 3 for
        // full-precision entries and PackedKvRegion 7 for each packed bit width (8, 4 and 2 bits under quantization).
        const long KvTensorsPerLayer = 3 + (7 * 3);
        Assert.InRange(peakTensorsDuringRun - tensorsBaseline, 0, (Capacity * KvTensorsPerLayer * fixture.Model.Config.NumLayers) + 16);
        Assert.True(managedEnd - managedAfterWarmUp < ManagedGrowthBound, $"managed heap grew {(managedEnd - managedAfterWarmUp) / 1024} KiB after warm-up");
        Assert.True(rssEnd - rssAfterWarmUp < RssGrowthBound, $"RSS grew {(rssEnd - rssAfterWarmUp) >> 20} MiB after warm-up");

        void Check(string key, string text)
        {
            Assert.False(string.IsNullOrEmpty(text), key);
            if (greedy.TryGetValue(key, out string? first)) Assert.Equal(first, text);
            else greedy[key] = text;
        }
    }
}
