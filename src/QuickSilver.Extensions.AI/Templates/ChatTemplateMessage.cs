namespace QuickSilver.Extensions.AI.Templates;

/// <summary>
/// One message as a chat template sees it, in Hugging Face's shape: a role and its text, and for tool calling the
/// assistant's <c>tool_calls</c> and a tool result's <c>tool_call_id</c> and <c>name</c>.
/// </summary>
/// <param name="Role">"system", "user", "assistant" or "tool".</param>
/// <param name="Content">The message text ("" for an assistant turn that only calls tools).</param>
public sealed record ChatTemplateMessage(string Role, string Content)
{
    /// <summary>The assistant's tool calls (<c>message.tool_calls</c>), or null.</summary>
    public IReadOnlyList<ChatTemplateToolCall>? ToolCalls { get; init; }

    /// <summary>For a tool result: the id of the call it answers (<c>message.tool_call_id</c>).</summary>
    public string? ToolCallId { get; init; }

    /// <summary>For a tool result: the name of the tool that produced it (<c>message.name</c>).</summary>
    public string? Name { get; init; }
}
