using Microsoft.Extensions.AI;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Extensions.AI.Chat.Protocols;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>
/// Turns a request's generated tokens into chat contents: streaming detokenization with the stop matcher
/// (<see cref="StopSequenceStreamer"/>), then the reasoning / text / tool-call split (<see cref="ReplyRouter"/>), and at the end
/// the tool calls (<see cref="ToolCallRouting"/>). One per request; fed from the generator's loop.
/// </summary>
internal sealed class ReplyAssembler
{
    private readonly RequestPlan _plan;
    private readonly ToolCallProtocol? _protocol;
    private readonly StopSequenceStreamer _streamer;
    private readonly ReplyRouter _router;

    public ReplyAssembler(ITokenizer tokenizer, RequestPlan plan, ToolCallProtocol? protocol, IReadOnlyDictionary<int, string> visibleSpecials, bool startsInReasoning)
    {
        _plan = plan;
        _protocol = protocol;
        _streamer = new StopSequenceStreamer(tokenizer, plan.TextStopSequences, visibleSpecials);
        _router = new ReplyRouter(protocol, genericCalls: plan.Tools.Count > 0 && protocol is null, callsOnly: plan.ToolRequired, startsInReasoning);
    }

    /// <summary>A stop sequence ended the reply; later tokens are ignored.</summary>
    public bool Stopped => _streamer.Stopped;

    /// <summary>Adds one token; returns the contents that can be shown now (possibly none).</summary>
    public List<AIContent> Push(int tokenId) => Route(_streamer.Push(tokenId));

    /// <summary>Ends the text: the contents of whatever was held back (unless a stop sequence ended it).</summary>
    public List<AIContent> Flush() => Route(_streamer.Flush());

    /// <summary>Closes the reply after <see cref="Flush"/>: the last section, with its tool calls parsed.</summary>
    public List<AIContent> Finish() => _router.Finish(section => ToolCallRouting.ParseCalls(section, _plan, _protocol));

    private List<AIContent> Route(string text) => text.Length == 0 ? [] : _router.Push(text);
}
