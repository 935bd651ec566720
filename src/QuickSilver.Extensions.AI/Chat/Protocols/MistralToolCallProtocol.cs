using System.Text.Json;
using Microsoft.Extensions.AI;

namespace QuickSilver.Extensions.AI.Chat.Protocols;

/// <summary>
/// Mistral tool calls: <c>[TOOL_CALLS]</c> then a JSON array of <c>{"name", "arguments"(, "id")}</c> objects (tokenizer v3,
/// Mistral 7B v0.3 / Nemo), or one or more <c>name[ARGS]{…}</c> (optionally <c>name[CALL_ID]id[ARGS]{…}</c>) in later versions.
/// </summary>
internal sealed class MistralToolCallProtocol(bool argsFormat = false) : ToolCallProtocol
{
    private const string Args = "[ARGS]";
    private const string CallId = "[CALL_ID]";

    public override string Name => argsFormat ? "mistral-args" : "mistral";

    public override bool ConstrainsEnvelope => !argsFormat;

    public override IReadOnlyList<string> SyntaxTokens => [CallMarker, Args, CallId];

    public override string CallMarker => "[TOOL_CALLS]";

    public override string ArgumentsKey => "arguments";

    public override string LeadCharacters => " \n[";

    /// <summary>Mistral's templates reject any tool call id that is not exactly 9 letters or digits.</summary>
    public override string NewCallId()
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        Span<char> id = stackalloc char[9];
        for (int i = 0; i < id.Length; i++) id[i] = alphabet[Random.Shared.Next(alphabet.Length)];
        return new string(id);
    }

    /// <summary>Ids that are not 9 letters or digits become 9 base-62 characters of their SHA-256.</summary>
    public override Func<string, string>? TemplateCallId => id =>
    {
        if (id.Length == 9 && id.All(char.IsAsciiLetterOrDigit)) return id;
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        byte[] hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(id));
        return string.Concat(hash.Take(9).Select(b => alphabet[b % alphabet.Length]));
    };

    public override bool TryParseCalls(string section, out List<FunctionCallContent> calls)
    {
        calls = [];
        foreach (string part in section.Split(CallMarker, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.StartsWith('[') || part.StartsWith('{'))
            {
                if (!TryReadCallSequence(part, out List<FunctionCallContent> some)) { calls.Clear(); return false; }
                calls.AddRange(some);
                continue;
            }
            // name[ARGS]{…} (or name[CALL_ID]id[ARGS]{…}), possibly several in a row.
            string rest = part;
            while (rest.Length > 0)
            {
                int args = rest.IndexOf(Args, StringComparison.Ordinal);
                if (args <= 0) { calls.Clear(); return false; }
                string head = rest[..args].Trim();
                string? id = null;
                int idAt = head.IndexOf(CallId, StringComparison.Ordinal);
                if (idAt >= 0)
                {
                    id = head[(idAt + CallId.Length)..].Trim();
                    head = head[..idAt].Trim();
                }
                string json = rest[(args + Args.Length)..];
                if (head.Length == 0 || !TryReadJsonValue(json, out JsonElement value, out int consumed) || value.ValueKind != JsonValueKind.Object)
                {
                    calls.Clear();
                    return false;
                }
                var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (JsonProperty property in value.EnumerateObject()) arguments[property.Name] = property.Value.Clone();
                calls.Add(new FunctionCallContent(string.IsNullOrEmpty(id) ? NewCallId() : id, head, arguments));
                rest = json[consumed..].Trim();
            }
        }
        return calls.Count > 0;
    }
}
