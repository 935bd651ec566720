using System.Text.Json;

namespace QuickSilver.Extensions.AI.Templates;

/// <summary>Everything a chat template renders: the variables Hugging Face's <c>apply_chat_template</c> passes.</summary>
public sealed class ChatTemplateRequest
{
    /// <summary>Creates a request for <paramref name="messages"/>.</summary>
    public ChatTemplateRequest(IReadOnlyList<ChatTemplateMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        Messages = messages;
    }

    /// <summary>The conversation (<c>messages</c>).</summary>
    public IReadOnlyList<ChatTemplateMessage> Messages { get; }

    /// <summary>Tool specs as JSON objects <c>{"type": "function", "function": {"name", "description", "parameters"}}</c> (<c>tools</c>); null for none.</summary>
    public IReadOnlyList<JsonElement>? Tools { get; init; }

    /// <summary>Whether the text ends where the assistant's reply starts (<c>add_generation_prompt</c>).</summary>
    public bool AddGenerationPrompt { get; init; }

    /// <summary>The BOS token's text (<c>bos_token</c>).</summary>
    public string BosToken { get; init; } = "";

    /// <summary>The EOS token's text (<c>eos_token</c>).</summary>
    public string EosToken { get; init; } = "";

    /// <summary>Further variables (<c>pad_token</c>, <c>enable_thinking</c>, <c>date_string</c>, …), as JSON values.</summary>
    public IReadOnlyDictionary<string, JsonElement>? Variables { get; init; }
}
