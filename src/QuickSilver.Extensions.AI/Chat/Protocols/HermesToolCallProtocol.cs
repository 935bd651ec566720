using Microsoft.Extensions.AI;

namespace QuickSilver.Extensions.AI.Chat.Protocols;

/// <summary>
/// Hermes-style calls (NousResearch Hermes 2/3, Qwen 2.5, Qwen 3, and templates copied from them): each call is a JSON
/// object between <c>&lt;tool_call&gt;</c> and <c>&lt;/tool_call&gt;</c>; results come back in <c>&lt;tool_response&gt;</c> blocks.
/// </summary>
internal sealed class HermesToolCallProtocol : ToolCallProtocol
{
    private const string Close = "</tool_call>";

    public override string Name => "hermes";

    public override string CallMarker => "<tool_call>";

    public override string ArgumentsKey => "arguments";

    public override bool TryParseCalls(string section, out List<FunctionCallContent> calls)
    {
        calls = [];
        string rest = section.Trim();
        while (rest.Length > 0)
        {
            if (!rest.StartsWith(CallMarker, StringComparison.Ordinal)) { calls.Clear(); return false; }
            rest = rest[CallMarker.Length..];
            int end = rest.IndexOf(Close, StringComparison.Ordinal);
            // The last block may lack its closing tag when generation stopped right after the JSON.
            string body = end >= 0 ? rest[..end] : rest;
            rest = end >= 0 ? rest[(end + Close.Length)..].TrimStart() : "";
            if (!TryReadCallSequence(body, out List<FunctionCallContent> some)) { calls.Clear(); return false; }
            calls.AddRange(some);
        }
        return calls.Count > 0;
    }
}
