using System.Text;

namespace QuickSilver.Extensions.AI.Templates;

/// <summary>
/// Turns a conversation into the prompt text a model was trained on. Built-ins cover Llama-2 <c>[INST]</c>, Llama-3,
/// ChatML, Zephyr and a plain-text format for base models; <see cref="FromJinja"/> renders a model's own template.
/// </summary>
public abstract class ChatTemplate
{
    /// <summary>Names accepted by <see cref="GetBuiltIn"/> (and by <c>QuickSilverOptions.Template</c>, besides "auto").</summary>
    public static IReadOnlyList<string> BuiltInNames { get; } = ["plain", "llama2", "llama3", "chatml", "zephyr"];

    /// <summary>Plain text for base models: "User: …", "Assistant: …". BOS is prepended.</summary>
    public static ChatTemplate Plain { get; } = new PlainChatTemplate();

    /// <summary>Llama-2 chat: <c>&lt;s&gt;[INST] &lt;&lt;SYS&gt;&gt;…&lt;&lt;/SYS&gt;&gt; user [/INST] assistant &lt;/s&gt;</c>.</summary>
    public static ChatTemplate Llama2 { get; } = new Llama2ChatTemplate();

    /// <summary>Llama-3 instruct: header ids and <c>&lt;|eot_id|&gt;</c>.</summary>
    public static ChatTemplate Llama3 { get; } = new Llama3ChatTemplate();

    /// <summary>ChatML: <c>&lt;|im_start|&gt;role\n…&lt;|im_end|&gt;</c>.</summary>
    public static ChatTemplate ChatML { get; } = new ChatMLChatTemplate();

    /// <summary>Zephyr: <c>&lt;|user|&gt;\n…&lt;/s&gt;</c>.</summary>
    public static ChatTemplate Zephyr { get; } = new ZephyrChatTemplate();

    /// <summary>A short name for logs ("chatml", "jinja").</summary>
    public abstract string Name { get; }

    /// <summary>Texts that end the assistant's turn when the model writes them (the text itself is not emitted).</summary>
    public virtual IReadOnlyList<string> StopSequences => [];

    /// <summary>The role tool results are given in this format ("tool", or "user" for formats without a tool role).</summary>
    public virtual string ToolRole => "tool";

    /// <summary>Whether the tokenizer's BOS id goes before the rendered text (formats whose text does not spell the BOS token).</summary>
    public virtual bool PrependBos => false;

    /// <summary>Renders <paramref name="messages"/>; with <paramref name="addGenerationPrompt"/> the text ends where the assistant's reply starts.</summary>
    /// <exception cref="ChatTemplateException">The conversation does not fit the format, or the template failed.</exception>
    public abstract string Render(IReadOnlyList<ChatTemplateMessage> messages, bool addGenerationPrompt, string bosToken, string eosToken);

    /// <summary>
    /// Whether the format lays out tool specs, tool calls and tool results itself (a Jinja template that reads
    /// <c>tools</c>). When false, the client describes tools in the system text and shows calls and results as text.
    /// </summary>
    public virtual bool SupportsTools => false;

    /// <summary>
    /// Renders a full request (tools, tool calls and results, extra variables). Formats without tool support render
    /// the messages' text and ignore <see cref="ChatTemplateRequest.Tools"/>.
    /// </summary>
    /// <exception cref="ChatTemplateException">The conversation does not fit the format, or the template failed.</exception>
    public virtual string Render(ChatTemplateRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Render(request.Messages, request.AddGenerationPrompt, request.BosToken, request.EosToken);
    }

    /// <summary>Returns the built-in template called <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static ChatTemplate GetBuiltIn(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "plain" => Plain,
            "llama2" or "llama-2" => Llama2,
            "llama3" or "llama-3" => Llama3,
            "chatml" => ChatML,
            "zephyr" => Zephyr,
            _ => throw new ArgumentException($"Unknown chat template '{name}'; expected one of {string.Join(", ", BuiltInNames)}.", nameof(name)),
        };
    }

    /// <summary>Parses a Jinja chat template (GGUF <c>tokenizer.chat_template</c> or HF <c>tokenizer_config.json</c> <c>chat_template</c>).</summary>
    /// <exception cref="ChatTemplateException">The template uses syntax outside the supported subset, or is malformed.</exception>
    public static JinjaChatTemplate FromJinja(string source, IReadOnlyList<string>? stopSequences = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        return new JinjaChatTemplate(source, stopSequences ?? []);
    }

    private sealed class PlainChatTemplate : ChatTemplate
    {
        public override string Name => "plain";

        public override IReadOnlyList<string> StopSequences => ["\nUser:", "\nAssistant:", "\nTool:"];

        public override bool PrependBos => true;

        public override string Render(IReadOnlyList<ChatTemplateMessage> messages, bool addGenerationPrompt, string bosToken, string eosToken)
        {
            var sb = new StringBuilder();
            foreach (ChatTemplateMessage message in messages)
            {
                string label = message.Role switch
                {
                    "system" => "",
                    "user" => "User: ",
                    "assistant" => "Assistant: ",
                    "tool" => "Tool: ",
                    _ => throw new ChatTemplateException($"The plain chat template has no role '{message.Role}'."),
                };
                sb.Append(label).Append(message.Content.Trim()).Append(message.Role == "system" ? "\n\n" : "\n");
            }
            if (addGenerationPrompt)
            {
                sb.Append("Assistant:");
            }
            return sb.ToString();
        }
    }

    private sealed class Llama2ChatTemplate : ChatTemplate
    {
        public override string Name => "llama2";

        public override string ToolRole => "user";

        public override IReadOnlyList<string> StopSequences => ["[INST]"];

        public override string Render(IReadOnlyList<ChatTemplateMessage> messages, bool addGenerationPrompt, string bosToken, string eosToken)
        {
            string? system = messages.Count > 0 && messages[0].Role == "system" ? messages[0].Content : null;
            var sb = new StringBuilder();
            int offset = system is null ? 0 : 1;
            for (int i = 0; i + offset < messages.Count; i++)
            {
                ChatTemplateMessage message = messages[i + offset];
                if ((message.Role == "user") != (i % 2 == 0))
                {
                    throw new ChatTemplateException("Chat template raised: Conversation roles must alternate user/assistant/user/assistant/...");
                }
                string content = i == 0 && system is not null ? "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + message.Content : message.Content;
                if (message.Role == "user")
                {
                    sb.Append(bosToken).Append("[INST] ").Append(content.Trim()).Append(" [/INST]");
                }
                else if (message.Role == "assistant")
                {
                    sb.Append(' ').Append(content.Trim()).Append(' ').Append(eosToken);
                }
            }
            return sb.ToString();
        }
    }

    private sealed class Llama3ChatTemplate : ChatTemplate
    {
        public override string Name => "llama3";

        public override IReadOnlyList<string> StopSequences => ["<|eot_id|>"];

        public override string Render(IReadOnlyList<ChatTemplateMessage> messages, bool addGenerationPrompt, string bosToken, string eosToken)
        {
            var sb = new StringBuilder();
            for (int i = 0; i < messages.Count; i++)
            {
                if (i == 0) sb.Append(bosToken);
                sb.Append("<|start_header_id|>").Append(messages[i].Role).Append("<|end_header_id|>\n\n").Append(messages[i].Content.Trim()).Append("<|eot_id|>");
            }
            if (addGenerationPrompt)
            {
                sb.Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
            }
            return sb.ToString();
        }
    }

    private sealed class ChatMLChatTemplate : ChatTemplate
    {
        public override string Name => "chatml";

        public override IReadOnlyList<string> StopSequences => ["<|im_end|>"];

        public override string Render(IReadOnlyList<ChatTemplateMessage> messages, bool addGenerationPrompt, string bosToken, string eosToken)
        {
            var sb = new StringBuilder();
            foreach (ChatTemplateMessage message in messages)
            {
                sb.Append("<|im_start|>").Append(message.Role).Append('\n').Append(message.Content).Append("<|im_end|>\n");
            }
            if (addGenerationPrompt)
            {
                sb.Append("<|im_start|>assistant\n");
            }
            return sb.ToString();
        }
    }

    private sealed class ZephyrChatTemplate : ChatTemplate
    {
        public override string Name => "zephyr";

        public override string ToolRole => "user";

        public override IReadOnlyList<string> StopSequences => ["<|user|>"];

        public override string Render(IReadOnlyList<ChatTemplateMessage> messages, bool addGenerationPrompt, string bosToken, string eosToken)
        {
            var sb = new StringBuilder();
            for (int i = 0; i < messages.Count; i++)
            {
                if (messages[i].Role is "user" or "system" or "assistant")
                {
                    sb.Append("<|").Append(messages[i].Role).Append("|>\n").Append(messages[i].Content).Append(eosToken).Append('\n');
                }
                if (i == messages.Count - 1 && addGenerationPrompt)
                {
                    sb.Append("<|assistant|>\n");
                }
            }
            return sb.ToString();
        }
    }
}
