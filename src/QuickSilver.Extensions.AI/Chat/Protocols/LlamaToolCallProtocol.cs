using Microsoft.Extensions.AI;

namespace QuickSilver.Extensions.AI.Chat.Protocols;

/// <summary>
/// Llama 3.1/3.2/3.3 JSON tool calls: <c>{"name": "…", "parameters": {…}}</c>, after <c>&lt;|python_tag|&gt;</c> (3.1) or as
/// the whole reply (3.2); several calls are separated by ";". Results are shown to the model in the <c>ipython</c> role.
/// </summary>
internal sealed class LlamaToolCallProtocol : ToolCallProtocol
{
    public override string Name => "llama3";

    public override string CallMarker => "<|python_tag|>";

    public override string ArgumentsKey => "parameters";

    public override bool BareJsonCalls => true;

    public override bool TryParseCalls(string section, out List<FunctionCallContent> calls)
    {
        string body = section.Trim();
        if (body.StartsWith(CallMarker, StringComparison.Ordinal)) body = body[CallMarker.Length..];
        return TryReadCallSequence(body, out calls);
    }
}
