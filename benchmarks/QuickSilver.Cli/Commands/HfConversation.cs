using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace QuickSilver.Cli.Commands;

/// <summary>
/// Converts a conversation in Hugging Face's message format into Microsoft.Extensions.AI types, as an application would
/// hold it: assistant <c>tool_calls</c> become <see cref="FunctionCallContent"/> (string arguments are parsed), <c>tool</c>
/// messages become <see cref="FunctionResultContent"/>, and <c>tools</c> become <see cref="ChatOptions.Tools"/>.
/// </summary>
internal static class HfConversation
{
    /// <exception cref="ArgumentException">A message or tool is malformed (named by index).</exception>
    public static (List<ChatMessage> Messages, ChatOptions Options) ToChat(JsonObject conversation)
    {
        var messages = new List<ChatMessage>();
        var open = new List<(string Id, string Name)>();
        JsonArray items = conversation["messages"] as JsonArray ?? throw new ArgumentException("\"messages\" is not an array.");
        for (int i = 0; i < items.Count; i++)
        {
            JsonObject m = items[i] as JsonObject ?? throw new ArgumentException($"messages[{i}] is not an object.");
            string role = m["role"]?.GetValue<string>() ?? throw new ArgumentException($"messages[{i}] has no role.");
            string text = Text(m["content"]);
            switch (role)
            {
                case "tool" or "ipython":
                    string? id = m["tool_call_id"]?.GetValue<string>();
                    string? name = m["name"]?.GetValue<string>();
                    // Without an id, a result answers the oldest unanswered call (of that name, when given).
                    int match = open.FindIndex(c => id is not null ? c.Id == id : name is null || c.Name == name);
                    if (match < 0) throw new ArgumentException($"messages[{i}] is a tool result for no open tool call.");
                    string answered = open[match].Id;
                    open.RemoveAt(match);
                    messages.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(answered, text)]));
                    break;
                case "assistant":
                    var contents = new List<AIContent>();
                    if (text.Length > 0) contents.Add(new TextContent(text));
                    if (m["tool_calls"] is JsonArray calls)
                    {
                        for (int k = 0; k < calls.Count; k++)
                        {
                            JsonObject call = calls[k] as JsonObject ?? throw new ArgumentException($"messages[{i}].tool_calls[{k}] is not an object.");
                            JsonObject function = call["function"] as JsonObject ?? call;
                            string callName = function["name"]?.GetValue<string>() ?? throw new ArgumentException($"messages[{i}].tool_calls[{k}] has no function name.");
                            string callId = call["id"]?.GetValue<string>() ?? $"call_{i}_{k}";
                            contents.Add(new FunctionCallContent(callId, callName, Arguments(function["arguments"], $"messages[{i}].tool_calls[{k}]")));
                            open.Add((callId, callName));
                        }
                    }
                    messages.Add(new ChatMessage(ChatRole.Assistant, contents));
                    break;
                default:
                    messages.Add(new ChatMessage(new ChatRole(role), text));
                    break;
            }
        }
        var options = new ChatOptions();
        if (conversation["tools"] is JsonArray tools && tools.Count > 0)
        {
            options.Tools = [];
            for (int t = 0; t < tools.Count; t++)
            {
                JsonObject function = (tools[t] as JsonObject)?["function"] as JsonObject ?? tools[t] as JsonObject
                    ?? throw new ArgumentException($"tools[{t}] is not an object.");
                string name = function["name"]?.GetValue<string>() ?? throw new ArgumentException($"tools[{t}] has no name.");
                JsonElement schema = function["parameters"] is JsonNode p ? JsonSerializer.SerializeToElement(p) : JsonSerializer.SerializeToElement(new { type = "object", properties = new { } });
                options.Tools.Add(AIFunctionFactory.CreateDeclaration(name, function["description"]?.GetValue<string>(), schema));
            }
        }
        return (messages, options);
    }

    private static string Text(JsonNode? content) => content switch
    {
        null => "",
        JsonValue v when v.TryGetValue(out string? s) => s,
        JsonArray parts => string.Concat(parts.Select(p => p?["text"]?.GetValue<string>() ?? "")),
        _ => content.ToJsonString(),
    };

    private static Dictionary<string, object?> Arguments(JsonNode? arguments, string where)
    {
        JsonNode? node = arguments is JsonValue v && v.TryGetValue(out string? json) ? Parse(json, where) : arguments;
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (node is null) return result;
        if (node is not JsonObject map) throw new ArgumentException($"{where}: arguments must be an object.");
        foreach (KeyValuePair<string, JsonNode?> kv in map) result[kv.Key] = kv.Value is null ? null : JsonSerializer.SerializeToElement(kv.Value);
        return result;
    }

    private static JsonNode? Parse(string json, string where)
    {
        try
        {
            return JsonNode.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"{where}: arguments are not valid JSON: {ex.Message}", ex);
        }
    }
}
