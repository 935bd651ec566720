using System.Text.Json;
using Microsoft.Extensions.AI;
using QuickSilver.Extensions.AI.Chat;
using QuickSilver.Extensions.AI.Chat.Protocols;
using QuickSilver.Extensions.AI.Templates;

namespace QuickSilver.Extensions.AI;

/// <summary>
/// Renders the prompt text <see cref="QuickSilverChatClient"/> sends for a conversation, without loading a model: the same
/// conversion of <see cref="ChatMessage"/>, <see cref="FunctionCallContent"/>, <see cref="FunctionResultContent"/> and
/// <see cref="ChatOptions.Tools"/> into the template's variables, the same system preamble and the same template. Useful to
/// debug a prompt, and what <c>quicksilver render --via chat-client</c> prints.
/// </summary>
public static class QuickSilverPrompt
{
    /// <summary>Renders <paramref name="messages"/> with <paramref name="template"/> as the client would.</summary>
    /// <param name="template">The chat template.</param>
    /// <param name="messages">The conversation.</param>
    /// <param name="options">The request options (instructions, tools, tool mode, response format).</param>
    /// <param name="bosToken">The BOS token's text (<c>bos_token</c>).</param>
    /// <param name="eosToken">The EOS token's text (<c>eos_token</c>).</param>
    /// <param name="addGenerationPrompt">End where the assistant's reply starts (the client always does).</param>
    /// <param name="variables">Further template variables.</param>
    /// <returns>The prompt text, special tokens spelled out.</returns>
    /// <exception cref="ArgumentException">The conversation or the tools are invalid (the message says which).</exception>
    /// <exception cref="ChatTemplateException">The template raised or failed.</exception>
    public static string Render(ChatTemplate template, IEnumerable<ChatMessage> messages, ChatOptions? options = null, string bosToken = "", string eosToken = "",
        bool addGenerationPrompt = true, IReadOnlyDictionary<string, JsonElement>? variables = null)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(messages);
        List<AIFunctionDeclaration> tools = RequestPlanner.Tools(options);
        ToolCallProtocol? protocol = template.SupportsTools && template is JinjaChatTemplate jinja ? ToolCallProtocol.Detect(jinja.Source) : null;
        ChatTemplateRequest converted = ChatMessageConverter.Convert(messages, template, RequestPlanner.Preamble(options, tools, template.SupportsTools), tools, text => text, protocol?.TemplateCallId);
        return template.Render(new ChatTemplateRequest(converted.Messages)
        {
            Tools = converted.Tools,
            AddGenerationPrompt = addGenerationPrompt,
            BosToken = bosToken,
            EosToken = eosToken,
            Variables = variables,
        });
    }
}
