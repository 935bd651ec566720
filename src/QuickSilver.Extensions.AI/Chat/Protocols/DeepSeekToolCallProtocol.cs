using System.Text.Json;
using Microsoft.Extensions.AI;

namespace QuickSilver.Extensions.AI.Chat.Protocols;

/// <summary>
/// DeepSeek V3 / R1 calls: <c>&lt;｜tool▁calls▁begin｜&gt;&lt;｜tool▁call▁begin｜&gt;function&lt;｜tool▁sep｜&gt;name\n```json\n{…}\n```&lt;｜tool▁call▁end｜&gt;…&lt;｜tool▁calls▁end｜&gt;</c>,
/// and V3.1's shorter <c>&lt;｜tool▁call▁begin｜&gt;name&lt;｜tool▁sep｜&gt;{…}&lt;｜tool▁call▁end｜&gt;</c>. Parsed, not constrained
/// (the name and a code fence precede the JSON).
/// </summary>
internal sealed class DeepSeekToolCallProtocol : ToolCallProtocol
{
    private const string CallsBegin = "<｜tool▁calls▁begin｜>";
    private const string CallsEnd = "<｜tool▁calls▁end｜>";
    private const string CallBegin = "<｜tool▁call▁begin｜>";
    private const string CallEnd = "<｜tool▁call▁end｜>";
    private const string Separator = "<｜tool▁sep｜>";

    public override string Name => "deepseek";

    public override string CallMarker => CallsBegin;

    public override string ArgumentsKey => "arguments";

    public override bool ConstrainsEnvelope => false;

    public override IReadOnlyList<string> SyntaxTokens => [CallsBegin, CallsEnd, CallBegin, CallEnd, Separator];

    public override bool TryParseCalls(string section, out List<FunctionCallContent> calls)
    {
        calls = [];
        string body = section.Trim();
        if (body.StartsWith(CallsBegin, StringComparison.Ordinal)) body = body[CallsBegin.Length..];
        int end = body.IndexOf(CallsEnd, StringComparison.Ordinal);
        if (end >= 0)
        {
            if (body[(end + CallsEnd.Length)..].Trim().Length > 0) return false;
            body = body[..end];
        }
        foreach (string part in body.Split(CallBegin, StringSplitOptions.RemoveEmptyEntries))
        {
            string call = part.Trim();
            if (call.Length == 0) continue;
            int close = call.IndexOf(CallEnd, StringComparison.Ordinal);
            if (close >= 0) call = call[..close];
            int separator = call.IndexOf(Separator, StringComparison.Ordinal);
            if (separator <= 0) { calls.Clear(); return false; }
            string head = call[..separator].Trim(), rest = call[(separator + Separator.Length)..].Trim();
            string name, json;
            if (head == "function")
            {
                int newline = rest.IndexOf('\n');
                if (newline <= 0) { calls.Clear(); return false; }
                name = rest[..newline].Trim();
                json = rest[newline..].Trim();
                if (json.StartsWith("```", StringComparison.Ordinal))
                {
                    json = json[(json.IndexOf('\n') is var nl && nl > 0 ? nl : 3)..];
                    int fence = json.LastIndexOf("```", StringComparison.Ordinal);
                    if (fence >= 0) json = json[..fence];
                }
            }
            else
            {
                name = head;
                json = rest;
            }
            if (name.Length == 0 || !TryReadJsonValue(json.Trim(), out JsonElement value, out _) || value.ValueKind != JsonValueKind.Object)
            {
                calls.Clear();
                return false;
            }
            var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (JsonProperty property in value.EnumerateObject()) arguments[property.Name] = property.Value.Clone();
            calls.Add(new FunctionCallContent(NewCallId(), name, arguments));
        }
        return calls.Count > 0;
    }
}
