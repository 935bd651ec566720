namespace QuickSilver.Extensions.AI.Templates;

/// <summary>One message as a chat template sees it: a role name and its text.</summary>
/// <param name="Role">"system", "user", "assistant" or "tool".</param>
/// <param name="Content">The message text.</param>
public sealed record ChatTemplateMessage(string Role, string Content);
