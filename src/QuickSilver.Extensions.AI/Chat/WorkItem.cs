using System.Threading.Channels;
using Microsoft.Extensions.AI;
using QuickSilver.Engine.Generation;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>One queued request: its tokenized prompt, plan and the channel its updates are written to.</summary>
internal sealed class WorkItem(RequestPlan plan, GenerationRequest request, List<int> promptIds, CancellationTokenSource cancellation)
{
    public RequestPlan Plan { get; } = plan;

    /// <summary>The complete generation request (sampling, budget, stops, constraint), built once when the request is submitted.</summary>
    public GenerationRequest Request { get; } = request;

    public List<int> PromptIds { get; } = promptIds;

    /// <summary>The rendered prompt ends inside an open <c>&lt;think&gt;</c> block.</summary>
    public bool StartsInReasoning { get; init; }

    /// <summary>The native tool-call syntax of the template the request was rendered with, when it offers tools.</summary>
    public Protocols.ToolCallProtocol? Protocol { get; init; }

    /// <summary>Linked to the caller's token and the client's shutdown; the worker disposes it when done.</summary>
    public CancellationTokenSource Cancellation { get; } = cancellation;

    public Channel<ChatResponseUpdate> Output { get; } = Channel.CreateUnbounded<ChatResponseUpdate>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    public string ResponseId { get; } = "qs-" + Guid.NewGuid().ToString("N");

    public string MessageId { get; } = "msg-" + Guid.NewGuid().ToString("N");

    public DateTimeOffset CreatedAt { get; } = DateTimeOffset.UtcNow;
}
