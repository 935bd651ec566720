using System.Text.Json;
using QuickSilver.Extensions.AI.Templates.Jinja;

namespace QuickSilver.Extensions.AI.Templates;

/// <summary>
/// A model's own chat template (GGUF <c>tokenizer.chat_template</c> or <c>tokenizer_config.json</c>), rendered with
/// Jinja2's semantics as transformers configures them. Parsed once; every filter and test it names is checked then.
/// Immutable and safe to render from many threads.
/// </summary>
public sealed class JinjaChatTemplate : ChatTemplate
{
    private readonly JinjaTemplate _template;
    private readonly IReadOnlyList<string> _stopSequences;

    /// <summary>Parses <paramref name="source"/>.</summary>
    /// <exception cref="ChatTemplateException">Malformed, or uses a statement, filter or test that is not supported (named in the message).</exception>
    public JinjaChatTemplate(string source, IReadOnlyList<string>? stopSequences = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        _template = JinjaTemplate.Parse(source);
        _stopSequences = stopSequences ?? [];
        Source = source;
    }

    /// <summary>The template text.</summary>
    public string Source { get; }

    /// <inheritdoc/>
    public override string Name => "jinja";

    /// <inheritdoc/>
    public override IReadOnlyList<string> StopSequences => _stopSequences;

    /// <summary>Whether the template reads <c>tools</c>, i.e. lays out tool specs (and, by convention, tool calls) itself.</summary>
    public override bool SupportsTools => _template.ReferencedNames.Contains("tools");

    /// <inheritdoc/>
    public override string Render(IReadOnlyList<ChatTemplateMessage> messages, bool addGenerationPrompt, string bosToken, string eosToken)
        => Render(new ChatTemplateRequest(messages) { AddGenerationPrompt = addGenerationPrompt, BosToken = bosToken, EosToken = eosToken });

    /// <inheritdoc/>
    public override string Render(ChatTemplateRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var variables = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["bos_token"] = request.BosToken,
            ["eos_token"] = request.EosToken,
        };
        if (request.Variables is not null)
        {
            foreach (KeyValuePair<string, JsonElement> kv in request.Variables) variables[kv.Key] = JinjaJson.FromJson(kv.Value);
        }
        variables["messages"] = request.Messages.Select(ToValue).ToList();
        variables["tools"] = request.Tools is null ? null : request.Tools.Select(JinjaJson.FromJson).ToList();
        variables.TryAdd("documents", null);
        variables["add_generation_prompt"] = request.AddGenerationPrompt;
        return _template.Render(variables);
    }

    /// <summary>
    /// Renders with raw variables, exactly as given (HF-shaped <c>messages</c>, <c>tools</c>, <c>add_generation_prompt</c>,
    /// special tokens): what <c>quicksilver render</c> does.
    /// </summary>
    /// <param name="variables">A JSON object; each property becomes a template variable.</param>
    /// <exception cref="ChatTemplateException">The template raised or failed.</exception>
    public string Render(JsonElement variables)
    {
        if (variables.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException($"Template variables must be a JSON object, not {variables.ValueKind}.", nameof(variables));
        }
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (JsonProperty property in variables.EnumerateObject()) values[property.Name] = JinjaJson.FromJson(property.Value);
        return _template.Render(values);
    }

    private static object? ToValue(ChatTemplateMessage message)
    {
        var map = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["role"] = message.Role,
            ["content"] = message.Content,
        };
        if (message.ToolCalls is { Count: > 0 } calls)
        {
            map["tool_calls"] = calls.Select(call => (object?)new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["id"] = call.Id,
                ["type"] = "function",
                ["function"] = new Dictionary<string, object?>(StringComparer.Ordinal)
                {
                    ["name"] = call.Name,
                    ["arguments"] = ParseArguments(call),
                },
            }).ToList();
        }
        if (message.ToolCallId is not null) map["tool_call_id"] = message.ToolCallId;
        if (message.Name is not null) map["name"] = message.Name;
        return map;
    }

    private static object? ParseArguments(ChatTemplateToolCall call)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(string.IsNullOrWhiteSpace(call.ArgumentsJson) ? "{}" : call.ArgumentsJson);
            return JinjaJson.FromJson(document.RootElement);
        }
        catch (JsonException ex)
        {
            throw new ChatTemplateException($"Tool call '{call.Id}' ({call.Name}): arguments are not valid JSON: {ex.Message}", ex);
        }
    }
}
