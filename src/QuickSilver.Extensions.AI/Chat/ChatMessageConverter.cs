using System.Text.Json;
using Microsoft.Extensions.AI;
using QuickSilver.Extensions.AI.Templates;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>
/// Turns a Microsoft.Extensions.AI conversation into what a chat template renders. With a template that lays out tools
/// itself (<see cref="ChatTemplate.SupportsTools"/>) this is Hugging Face's shape: assistant <c>tool_calls</c> with the
/// arguments as a mapping, one <c>tool</c> message per result with <c>tool_call_id</c> and <c>name</c>, and <c>tools</c> as
/// JSON-schema function specs. Otherwise calls and results become text (the generic protocol), results go in the role
/// the format has for them, and for a Jinja template consecutive turns of one role are merged, so templates that insist
/// on alternating user/assistant turns (Gemma, Llama 2, Mistral v1) still render a tool loop.
/// </summary>
internal static class ChatMessageConverter
{
    /// <summary>Converts and validates <paramref name="messages"/>.</summary>
    /// <param name="messages">The conversation.</param>
    /// <param name="template">The template the request is rendered with.</param>
    /// <param name="preamble">System text the request adds after the conversation's own (instructions, tool descriptions).</param>
    /// <param name="tools">The tools offered (native templates get them as <c>tools</c>).</param>
    /// <param name="escape">Disguises special-token text inside content, so only the template's own markers become control tokens.</param>
    /// <param name="callId">Maps call ids to the form the template accepts (identity when null).</param>
    /// <exception cref="ArgumentException">Empty conversation, unknown role, a message without content, or a result for a call never made.</exception>
    public static ChatTemplateRequest Convert(IEnumerable<ChatMessage> messages, ChatTemplate template, string? preamble, IReadOnlyList<AIFunctionDeclaration> tools, Func<string, string> escape, Func<string, string>? callId = null)
    {
        callId ??= id => id;
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        if (list.Count == 0) throw new ArgumentException("The conversation is empty: pass at least one message.", nameof(messages));
        bool native = template.SupportsTools;
        bool mergeTurns = !native && template is JinjaChatTemplate;
        string resultRole = native ? "tool" : mergeTurns ? "user" : template.ToolRole;

        var callNames = new Dictionary<string, string>(StringComparer.Ordinal);
        var converted = new List<ChatTemplateMessage>();
        var leadingSystem = new List<string>();
        bool inLeadingSystem = true;
        for (int i = 0; i < list.Count; i++)
        {
            ChatMessage message = list[i] ?? throw new ArgumentException($"messages[{i}] is null.", nameof(messages));
            ChatRole role = message.Role;
            if (role != ChatRole.System && role != ChatRole.User && role != ChatRole.Assistant && role != ChatRole.Tool)
            {
                throw new ArgumentException($"messages[{i}] has the unknown role '{role.Value}'; QuickSilver accepts system, user, assistant and tool.", nameof(messages));
            }
            string text = message.Text;
            var calls = message.Contents.OfType<FunctionCallContent>().ToList();
            var results = message.Contents.OfType<FunctionResultContent>().ToList();
            if (calls.Count > 0 && role != ChatRole.Assistant)
            {
                throw new ArgumentException($"messages[{i}] ({role.Value}) holds a function call; only assistant messages may.", nameof(messages));
            }
            foreach (FunctionCallContent call in calls) callNames[call.CallId] = call.Name;
            var resultNames = results.Select(r => callNames.TryGetValue(r.CallId, out string? name)
                ? name
                : throw new ArgumentException($"messages[{i}] holds a result for tool call '{r.CallId}', which no earlier assistant message made.", nameof(messages))).ToList();
            if (string.IsNullOrWhiteSpace(text) && calls.Count == 0 && results.Count == 0)
            {
                throw new ArgumentException($"messages[{i}] ({role.Value}) has no text, tool call or tool result; QuickSilver models read text only.", nameof(messages));
            }

            if (role == ChatRole.System && inLeadingSystem)
            {
                leadingSystem.Add(escape(text));
                continue;
            }
            inLeadingSystem = false;
            if (native)
            {
                if (calls.Count > 0 || !string.IsNullOrWhiteSpace(text) || results.Count == 0)
                {
                    converted.Add(new ChatTemplateMessage(role == ChatRole.Tool ? "tool" : role.Value, escape(text))
                    {
                        ToolCalls = calls.Count == 0 ? null : calls.Select(c => new ChatTemplateToolCall(callId(c.CallId), c.Name, escape(ToolCalling.SerializeArguments(c.Arguments)))).ToList(),
                    });
                }
                for (int r = 0; r < results.Count; r++)
                {
                    converted.Add(new ChatTemplateMessage("tool", escape(ToolCalling.FormatResultValue(results[r])))
                    {
                        ToolCallId = callId(results[r].CallId),
                        Name = resultNames[r],
                    });
                }
                continue;
            }

            var parts = new List<string>();
            if (!string.IsNullOrWhiteSpace(text)) parts.Add(text);
            parts.AddRange(calls.Select(c => ToolCalling.FormatCall(c.Name, c.Arguments)));
            parts.AddRange(results.Select((r, k) => ToolCalling.FormatResult(resultNames[k], r)));
            string roleName = results.Count > 0 || role == ChatRole.Tool ? resultRole : role.Value;
            string content = escape(string.Join("\n", parts));
            if (mergeTurns && converted.Count > 0 && converted[^1].Role == roleName)
            {
                converted[^1] = converted[^1] with { Content = converted[^1].Content + "\n\n" + content };
            }
            else
            {
                converted.Add(new ChatTemplateMessage(roleName, content));
            }
        }

        // The conversation's own system text first, then the request's instructions and tools: the most stable text leads,
        // so consecutive requests share the longest token prefix (and KV cache).
        if (!string.IsNullOrWhiteSpace(preamble)) leadingSystem.Add(escape(preamble));
        leadingSystem.RemoveAll(string.IsNullOrWhiteSpace);
        if (leadingSystem.Count > 0) converted.Insert(0, new ChatTemplateMessage("system", string.Join("\n\n", leadingSystem)));
        if (converted.Count == 0 || converted.All(m => m.Role == "system"))
        {
            throw new ArgumentException("The conversation has only system text; add a user message.", nameof(messages));
        }
        return new ChatTemplateRequest(converted)
        {
            Tools = native && tools.Count > 0 ? tools.Select(t => ToolSpec(t, escape)).ToList() : null,
        };
    }

    /// <summary>A tool as Hugging Face passes it: <c>{"type": "function", "function": {"name", "description", "parameters"}}</c>.</summary>
    public static JsonElement ToolSpec(AIFunctionDeclaration tool, Func<string, string> escape)
    {
        var function = new Dictionary<string, object?> { ["name"] = tool.Name };
        if (!string.IsNullOrWhiteSpace(tool.Description)) function["description"] = tool.Description;
        function["parameters"] = tool.JsonSchema.ValueKind == JsonValueKind.Object ? tool.JsonSchema : JsonDocument.Parse("{\"type\":\"object\",\"properties\":{}}").RootElement;
        string json = JsonSerializer.Serialize(new Dictionary<string, object?> { ["type"] = "function", ["function"] = function }, AIJsonUtilities.DefaultOptions);
        using JsonDocument document = JsonDocument.Parse(escape(json));
        return document.RootElement.Clone();
    }
}
