using Microsoft.Extensions.AI;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Extensions.AI.Chat.Protocols;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>How a reply's tool-call sections become <see cref="FunctionCallContent"/>: the template's native protocol, else generic JSON calls.</summary>
internal static class ToolCallRouting
{
    /// <summary>Parses one tool-call section of the reply; null when it is not a call (the text is then shown as text).</summary>
    public static List<FunctionCallContent>? ParseCalls(string section, RequestPlan plan, ToolCallProtocol? protocol)
    {
        if (plan.Tools.Count == 0) return null;
        List<FunctionCallContent> calls;
        bool parsed = protocol is not null
            ? protocol.TryParseCalls(section, out calls)
            : ToolCalling.TryParseCalls(section, plan.Tools, plan.AllowMultipleToolCalls, out calls);
        if (!parsed) return null;
        if (!plan.AllowMultipleToolCalls && calls.Count > 1) calls.RemoveRange(1, calls.Count - 1);
        return calls;
    }

    /// <summary>
    /// Control tokens that decode to nothing but open a tool call or a reasoning block (<c>&lt;|python_tag|&gt;</c>,
    /// <c>[TOOL_CALLS]</c>, <c>&lt;think&gt;</c>): the reply parser must see their text.
    /// </summary>
    public static Dictionary<int, string> VisibleSpecials(ITokenizer tokenizer, ToolCallProtocol? protocol)
    {
        var map = new Dictionary<int, string>();
        if (protocol is null) return map;
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            string piece = tokenizer.TokenPiece(id);
            if (piece is "<think>" or "</think>" || protocol.SyntaxTokens.Contains(piece))
            {
                if (tokenizer.TokenBytes(id).Length == 0) map[id] = piece;
            }
        }
        return map;
    }
}
