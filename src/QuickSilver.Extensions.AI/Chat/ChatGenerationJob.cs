using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Scheduling;
using QuickSilver.Extensions.AI.Backend;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>
/// One chat request in the client's batch: on admission it takes a session (K/V) and makes its <see cref="Generator"/> and
/// <see cref="ReplyAssembler"/>; each step's tokens become streamed updates; at the end it writes the finish reason and
/// usage and gives the session back. Every method runs on the batch scheduler's thread.
/// </summary>
internal sealed class ChatGenerationJob : GenerationJob
{
    private readonly WorkItem _item;
    private readonly ChatJobContext _context;
    private Sequence? _sequence;
    private Generator? _generator;
    private ReplyAssembler? _reply;
    private Accelerator.Preparation? _prepared;

    public ChatGenerationJob(WorkItem item, ChatJobContext context)
        : base(Reservation(item, context.Backend.ContextLength), item.Cancellation.Token)
    {
        _item = item;
        _context = context;
    }

    /// <summary>A request reserves its prompt plus its output budget, never more than the context.</summary>
    private static int Reservation(WorkItem item, int contextLength) => (int)Math.Min(contextLength, (long)item.PromptIds.Count + item.Request.MaxNewTokens);

    /// <summary>The reply ended on a stop text the generator does not see: no more tokens are needed.</summary>
    protected override bool IsComplete => _reply?.Stopped == true;

    /// <summary>The request's setup: its session, the backend's notice, the generator and the reply assembler.</summary>
    protected override Generator Start()
    {
        _item.Cancellation.Token.ThrowIfCancellationRequested();
        IQuickSilverBackend backend = _context.Backend;
        GenerationRequest request = _item.Request;
        _reply = new ReplyAssembler(backend.Tokenizer, _item.Plan, _item.Protocol, _context.VisibleSpecials, _item.StartsInReasoning);
        var sequenceOptions = new SequenceOptions { Policy = request.Policy, ProtectedTokenIds = request.ProtectedTokenIds, ContextLength = backend.ContextLength };
        _sequence = _context.Sessions.Acquire(_item.Plan.ConversationId, _item.PromptIds, sequenceOptions);
        backend.OnRequestStarting(_item.PromptIds, request);
        _prepared = _context.Accelerator.Prepare(_sequence, _item.PromptIds, _item.Plan, request);
        _generator = new Generator(backend.Steps, _sequence, _item.PromptIds, _prepared.Request, backend.TimeProvider);
        return _generator;
    }

    /// <summary>Each emitted token goes through the reply assembler; what can be shown is streamed at once.</summary>
    protected override void OnTokens(IReadOnlyList<GeneratedToken> tokens)
    {
        // The prompt has run: its blocks go to the prefix cache (after the first token, so its latency is not delayed).
        if (_prepared is not null) _context.Accelerator.AfterPrefill(_prepared);
        foreach (GeneratedToken generated in tokens)
        {
            // The generator decides every stop; the reply only ends early on a stop text that spans a control token's shown text.
            if (_reply!.Stopped) break;
            Write(_reply.Push(generated.Id));
        }
    }

    /// <summary>Completes the request (final contents, finish reason, usage) or passes on its cancellation or failure.</summary>
    protected override void OnFinished(Exception? error)
    {
        var output = _item.Output.Writer;
        try
        {
            if (error is null) Complete();
            else if (error is OperationCanceledException)
            {
                _context.Logger.LogDebug("Request {ResponseId} cancelled.", _item.ResponseId);
                output.TryComplete(error);
            }
            else
            {
                _context.Logger.LogError(error, "Request {ResponseId} failed.", _item.ResponseId);
                output.TryComplete(error);
            }
        }
        catch (Exception ex)
        {
            _context.Logger.LogError(ex, "Request {ResponseId} failed.", _item.ResponseId);
            output.TryComplete(ex);
        }
        finally
        {
            if (_sequence is not null) _context.Sessions.Release(_sequence);
            _item.Cancellation.Dispose();
        }
    }

    private void Complete()
    {
        ReplyAssembler reply = _reply!;
        Write(reply.Flush());
        GenerationResult result = _generator!.GetResult();
        ChatFinishReason finish = result.FinishReason == GenerationFinishReason.Length && !reply.Stopped ? ChatFinishReason.Length : ChatFinishReason.Stop;
        List<AIContent> last = reply.Finish();
        if (last.Count > 0)
        {
            if (last.Any(c => c is FunctionCallContent)) finish = ChatFinishReason.ToolCalls;
            _item.Output.Writer.TryWrite(_context.NewUpdate(_item, last));
        }

        GenerationRequest request = _item.Request;
        UsageDetails usage = QuickSilverChatClient.ToUsage(result);
        if (_prepared is not null)
        {
            _context.Accelerator.AfterPrefill(_prepared);
            Accelerator.AddUsage(usage, _prepared, _generator);
        }
        ChatResponseUpdate final = _context.NewUpdate(_item, [new UsageContent(usage)]);
        final.FinishReason = finish;
        final.AdditionalProperties = new AdditionalPropertiesDictionary { [QuickSilverChatClient.PolicyNameKey] = request.Policy?.Name ?? "dense" };
        if (request.CollectTrace) final.AdditionalProperties[QuickSilverChatClient.TraceKey] = result.Traces;
        // Metrics and the log entry come before completion, so a caller that has its response also sees them recorded.
        _context.Metrics.Record(_context.Backend.ModelId, result);
        _context.Logger.LogInformation(
            "Request {ResponseId} done: {Input} input ({Cached} cached) and {Output} output tokens, finish {Finish}, {Seconds:F3}s.",
            _item.ResponseId, result.PromptTokens, result.CachedPromptTokens, result.Tokens.Count, finish.Value, result.TotalSeconds);
        _item.Output.Writer.TryWrite(final);
        _item.Output.Writer.TryComplete();
    }

    private void Write(List<AIContent> contents)
    {
        if (contents.Count > 0) _item.Output.Writer.TryWrite(_context.NewUpdate(_item, contents));
    }
}
