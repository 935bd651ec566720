using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using QuickSilver.Extensions.AI;

namespace AgentDemo;

/// <summary>Middleware that records the usage of every model call passing through it (it sits inside function invocation).</summary>
internal sealed class UsageRecordingChatClient(IChatClient inner, List<UsageRecord> records) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ChatResponse response = await base.GetResponseAsync(messages, options, cancellationToken);
        Record(response);
        return response;
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            updates.Add(update);
            yield return update;
        }
        ChatResponse merged = updates.ToChatResponse();
        merged.AdditionalProperties = updates.Count > 0 ? updates[^1].AdditionalProperties : null;
        Record(merged);
    }

    private void Record(ChatResponse response)
    {
        UsageDetails usage = response.Usage ?? new UsageDetails();
        long Count(string key) => usage.AdditionalCounts?.TryGetValue(key, out long value) == true ? value : 0;
        string kind = response.FinishReason == ChatFinishReason.ToolCalls ? "tool call" : "text";
        lock (records)
        {
            records.Add(new UsageRecord(records.Count + 1, kind, usage.InputTokenCount ?? 0, usage.CachedInputTokenCount ?? 0, usage.OutputTokenCount ?? 0,
                Count("quicksilver.halted_token_layers"), Count("quicksilver.skipped_kv_writes"), Count("quicksilver.fused_tokens"),
                Count("quicksilver.dense_flops"), Count("quicksilver.actual_flops"), Count("quicksilver.kv_bytes"),
                Count(QuickSilverChatClient.TimeToFirstTokenKey) / 1e6, Count(QuickSilverChatClient.TotalTimeKey) / 1e6,
                response.AdditionalProperties?.TryGetValue(QuickSilverChatClient.PolicyNameKey, out object? p) == true ? p?.ToString() ?? "" : ""));
        }
    }
}
