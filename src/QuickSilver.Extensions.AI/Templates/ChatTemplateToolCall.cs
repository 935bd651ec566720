namespace QuickSilver.Extensions.AI.Templates;

/// <summary>
/// One tool call in an assistant message, rendered as HF's <c>{"id", "type": "function", "function": {"name", "arguments"}}</c>
/// with <c>arguments</c> as a mapping (what templates pass to <c>tojson</c> or iterate with <c>items()</c>).
/// </summary>
/// <param name="Id">The call id (<c>tool_call.id</c>).</param>
/// <param name="Name">The function name.</param>
/// <param name="ArgumentsJson">The arguments as a JSON object.</param>
public sealed record ChatTemplateToolCall(string Id, string Name, string ArgumentsJson);
