using System.Text.Json;
using Microsoft.Extensions.AI;

namespace QuickSilver.Extensions.AI.Chat.Protocols;

/// <summary>
/// A model family's native tool-call syntax: the marker that opens a call in the model's output, the JSON envelope
/// of one call, and the parser that turns the output back into <see cref="FunctionCallContent"/>. Chosen from the chat
/// template's own text (<see cref="Detect"/>), because the template is what taught the model the syntax.
/// </summary>
internal abstract class ToolCallProtocol
{
    /// <summary>Hermes / Qwen 2.5 / Qwen 3: <c>&lt;tool_call&gt;\n{"name": …, "arguments": {…}}\n&lt;/tool_call&gt;</c>, one block per call.</summary>
    public static ToolCallProtocol Hermes { get; } = new HermesToolCallProtocol();

    /// <summary>Llama 3.1 / 3.2 / 3.3: <c>&lt;|python_tag|&gt;{"name": …, "parameters": {…}}</c>, or the bare JSON object.</summary>
    public static ToolCallProtocol Llama3 { get; } = new LlamaToolCallProtocol();

    /// <summary>Mistral: <c>[TOOL_CALLS][{"name": …, "arguments": {…}, "id": …}]</c> (v3), or <c>[TOOL_CALLS]name[ARGS]{…}</c> (v11+).</summary>
    public static ToolCallProtocol Mistral { get; } = new MistralToolCallProtocol();

    /// <summary>Mistral v11+ (<c>[TOOL_CALLS]name[ARGS]{…}</c>): parsed, but not constrained (the name precedes the JSON).</summary>
    public static ToolCallProtocol MistralArgs { get; } = new MistralToolCallProtocol(argsFormat: true);

    /// <summary>DeepSeek V3 / R1 / V3.1: <c>&lt;｜tool▁calls▁begin｜&gt;</c> blocks (parsed, not constrained).</summary>
    public static ToolCallProtocol DeepSeek { get; } = new DeepSeekToolCallProtocol();

    /// <summary>A short name for logs and tests ("hermes", "llama3", "mistral").</summary>
    public abstract string Name { get; }

    /// <summary>The text (usually one special token) that opens the calls in the model's output.</summary>
    public abstract string CallMarker { get; }

    /// <summary>
    /// Token texts of the syntax that must reach the parser even when the vocabulary marks them as control tokens (which
    /// decode to nothing): the marker, and any inner separators.
    /// </summary>
    public virtual IReadOnlyList<string> SyntaxTokens => [CallMarker];

    /// <summary>The key of the arguments object in one call ("arguments", or Llama's "parameters").</summary>
    public abstract string ArgumentsKey { get; }

    /// <summary>Characters that may come between the marker and the first call's "{" (whitespace; Mistral's "[").</summary>
    public virtual string LeadCharacters => " \n";

    /// <summary>Whether the call objects after the marker are JSON envelopes that constrained decoding can enforce.</summary>
    public virtual bool ConstrainsEnvelope => true;

    /// <summary>Whether a reply that starts with a bare JSON object (no marker) is a call, as Llama 3.2 writes them.</summary>
    public virtual bool BareJsonCalls => false;

    /// <summary>A new call id in the form the template accepts (Mistral's templates insist on 9 alphanumerics).</summary>
    public virtual string NewCallId() => "call_" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>
    /// Maps a call id from the conversation (possibly made by another provider) to one the template accepts; null keeps
    /// ids as they are. Deterministic, so a tool loop keeps reusing its KV-cached prefix.
    /// </summary>
    public virtual Func<string, string>? TemplateCallId => null;

    /// <summary>
    /// Picks the protocol a template was written for from the markers it prints, or null for templates that do not lay
    /// out tool calls themselves (those keep the generic JSON protocol).
    /// </summary>
    public static ToolCallProtocol? Detect(string? templateSource)
    {
        if (string.IsNullOrEmpty(templateSource)) return null;
        if (templateSource.Contains("<tool_call>", StringComparison.Ordinal)) return Hermes;
        if (templateSource.Contains("<｜tool▁calls▁begin｜>", StringComparison.Ordinal)) return DeepSeek;
        if (templateSource.Contains("[TOOL_CALLS]", StringComparison.Ordinal))
        {
            return templateSource.Contains("[ARGS]", StringComparison.Ordinal) ? MistralArgs : Mistral;
        }
        if (templateSource.Contains("<|python_tag|>", StringComparison.Ordinal)
            || (templateSource.Contains("<|start_header_id|>", StringComparison.Ordinal) && templateSource.Contains("\"parameters\"", StringComparison.Ordinal)))
        {
            return Llama3;
        }
        return null;
    }

    /// <summary>
    /// Parses the call section of a reply (everything from <see cref="CallMarker"/> on, marker included, or a bare JSON
    /// object when <see cref="BareJsonCalls"/>). Returns false, with no calls, when it is not well-formed calls.
    /// </summary>
    public abstract bool TryParseCalls(string section, out List<FunctionCallContent> calls);

    /// <summary>Reads one call object: <c>{"name": "…", "&lt;arguments key&gt;": {…} or "…json…"}</c>, optionally with an "id".</summary>
    protected bool TryReadCall(JsonElement item, out FunctionCallContent? call)
    {
        call = null;
        if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("name", out JsonElement name) || name.ValueKind != JsonValueKind.String)
        {
            return false;
        }
        var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (item.TryGetProperty(ArgumentsKey, out JsonElement args) || item.TryGetProperty("arguments", out args) || item.TryGetProperty("parameters", out args))
        {
            if (args.ValueKind == JsonValueKind.String)
            {
                // Some models write the arguments as a JSON string, as OpenAI's API carries them.
                try
                {
                    using JsonDocument inner = JsonDocument.Parse(args.GetString()!);
                    if (inner.RootElement.ValueKind != JsonValueKind.Object) return false;
                    foreach (JsonProperty property in inner.RootElement.EnumerateObject()) arguments[property.Name] = property.Value.Clone();
                }
                catch (JsonException)
                {
                    return false;
                }
            }
            else if (args.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty property in args.EnumerateObject()) arguments[property.Name] = property.Value.Clone();
            }
            else if (args.ValueKind != JsonValueKind.Null)
            {
                return false;
            }
        }
        string id = item.TryGetProperty("id", out JsonElement idElement) && idElement.ValueKind == JsonValueKind.String && idElement.GetString() is { Length: > 0 } given
            ? given
            : NewCallId();
        call = new FunctionCallContent(id, name.GetString()!, arguments);
        return true;
    }

    /// <summary>Reads consecutive JSON values (objects, or arrays of objects) separated by whitespace, ";" or ",".</summary>
    protected bool TryReadCallSequence(string json, out List<FunctionCallContent> calls)
    {
        calls = [];
        string rest = json.Trim();
        while (rest.Length > 0)
        {
            if (!TryReadJsonValue(rest, out JsonElement value, out int consumed)) { calls.Clear(); return false; }
            IEnumerable<JsonElement> items = value.ValueKind == JsonValueKind.Array ? value.EnumerateArray() : [value];
            foreach (JsonElement item in items)
            {
                if (!TryReadCall(item, out FunctionCallContent? call)) { calls.Clear(); return false; }
                calls.Add(call!);
            }
            rest = rest[consumed..].TrimStart().TrimStart(';', ',').TrimStart();
        }
        return calls.Count > 0;
    }

    /// <summary>Parses the first JSON value of <paramref name="text"/>; <paramref name="consumed"/> is its length in characters.</summary>
    protected static bool TryReadJsonValue(string text, out JsonElement value, out int consumed)
    {
        value = default;
        consumed = 0;
        byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(text);
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { AllowMultipleValues = true, CommentHandling = JsonCommentHandling.Skip });
        try
        {
            if (!reader.Read()) return false;
            using JsonDocument document = JsonDocument.ParseValue(ref reader);
            value = document.RootElement.Clone();
            consumed = System.Text.Encoding.UTF8.GetCharCount(utf8, 0, (int)reader.BytesConsumed);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
