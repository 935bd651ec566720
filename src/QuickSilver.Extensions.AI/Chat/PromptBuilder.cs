using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Extensions.AI.Templates;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>
/// Validates a conversation, turns it into template messages (instructions, tool descriptions, tool calls and results
/// included), renders the chat template and tokenizes the result, mapping the template's special-token texts
/// (e.g. "&lt;|im_start|&gt;", "&lt;s&gt;") to their ids.
/// </summary>
internal sealed partial class PromptBuilder
{
    private readonly ITokenizer _tokenizer;
    private readonly Lazy<(string Text, int Id)[]> _specialTokens;

    public PromptBuilder(ITokenizer tokenizer, ChatTemplate template)
    {
        _tokenizer = tokenizer;
        Template = template;
        _specialTokens = new Lazy<(string, int)[]>(FindSpecialTokens);
        BosText = tokenizer.BosTokenId >= 0 ? tokenizer.TokenPiece(tokenizer.BosTokenId) : "";
        EosText = tokenizer.EosTokenId >= 0 ? tokenizer.TokenPiece(tokenizer.EosTokenId) : "";
    }

    public ChatTemplate Template { get; }

    public string BosText { get; }

    public string EosText { get; }

    /// <summary>Converts and validates the conversation.</summary>
    /// <exception cref="ArgumentException">Empty conversation, unknown role, a message without text, or a tool result for a call never made.</exception>
    public List<ChatTemplateMessage> ToTemplateMessages(IEnumerable<ChatMessage> messages, string? preamble)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages as IList<ChatMessage> ?? messages.ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException("The conversation is empty: pass at least one message.", nameof(messages));
        }

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
            var parts = new List<string>();
            if (!string.IsNullOrWhiteSpace(text)) parts.Add(text);

            foreach (FunctionCallContent call in message.Contents.OfType<FunctionCallContent>())
            {
                if (role != ChatRole.Assistant)
                {
                    throw new ArgumentException($"messages[{i}] ({role.Value}) holds a function call; only assistant messages may.", nameof(messages));
                }
                callNames[call.CallId] = call.Name;
                parts.Add(ToolCalling.FormatCall(call.Name, call.Arguments));
            }
            var results = message.Contents.OfType<FunctionResultContent>().ToList();
            foreach (FunctionResultContent result in results)
            {
                if (!callNames.TryGetValue(result.CallId, out string? name))
                {
                    throw new ArgumentException($"messages[{i}] holds a result for tool call '{result.CallId}', which no earlier assistant message made.", nameof(messages));
                }
                parts.Add(ToolCalling.FormatResult(name, result));
            }
            if (parts.Count == 0)
            {
                throw new ArgumentException($"messages[{i}] ({role.Value}) has no text, tool call or tool result; QuickSilver models read text only.", nameof(messages));
            }

            string content = Escape(string.Join("\n", parts));
            if (role == ChatRole.System && inLeadingSystem)
            {
                leadingSystem.Add(content);
                continue;
            }
            inLeadingSystem = false;
            string roleName = results.Count > 0 || role == ChatRole.Tool ? Template.ToolRole : role.Value;
            converted.Add(new ChatTemplateMessage(roleName, content));
        }

        // The conversation's own system text first, then the request's instructions and tools: the most stable text leads,
        // so consecutive requests share the longest token prefix (and KV cache).
        if (!string.IsNullOrWhiteSpace(preamble)) leadingSystem.Add(preamble);
        if (leadingSystem.Count > 0)
        {
            converted.Insert(0, new ChatTemplateMessage("system", string.Join("\n\n", leadingSystem)));
        }
        if (converted.Count == 0 || converted.All(m => m.Role == "system"))
        {
            throw new ArgumentException("The conversation has only system text; add a user message.", nameof(messages));
        }
        return converted;
    }

    /// <summary>Renders the template with the generation prompt.</summary>
    public string Render(IReadOnlyList<ChatTemplateMessage> messages) => Template.Render(messages, addGenerationPrompt: true, BosText, EosText);

    // Special-token text inside message content is disguised before rendering, so only the template's own markers become
    // control tokens: a user typing "<|im_start|>" gets those characters, not a forged turn boundary. The disguise swaps
    // the leading '<' for U+E000 (a private-use character; one already in the text is doubled) and Encode undoes it.
    private const char Disguise = '\uE000';

    private string Escape(string content)
    {
        if (content.IndexOf(Disguise) >= 0) content = content.Replace(Disguise.ToString(), new string(Disguise, 2));
        foreach ((string special, _) in _specialTokens.Value)
        {
            if (content.Contains(special, StringComparison.Ordinal)) content = content.Replace(special, Disguise + special[1..], StringComparison.Ordinal);
        }
        return content;
    }

    private static string Unescape(string text)
    {
        if (text.IndexOf(Disguise) < 0) return text;
        var sb = new System.Text.StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != Disguise) { sb.Append(text[i]); continue; }
            bool doubled = i + 1 < text.Length && text[i + 1] == Disguise;
            sb.Append(doubled ? Disguise : '<');
            if (doubled) i++;
        }
        return sb.ToString();
    }

    /// <summary>Tokenizes rendered prompt text: the template's special-token texts become their ids, everything else is text.</summary>
    public List<int> Encode(string text)
    {
        var ids = new List<int>();
        if (Template.PrependBos && _tokenizer.BosTokenId >= 0)
        {
            ids.Add(_tokenizer.BosTokenId);
        }
        (string Text, int Id)[] specials = _specialTokens.Value;
        int start = 0;
        for (int i = 0; i < text.Length;)
        {
            int length = 0;
            foreach ((string special, int id) in specials)
            {
                if (string.CompareOrdinal(text, i, special, 0, special.Length) == 0)
                {
                    if (i > start) ids.AddRange(_tokenizer.Encode(Unescape(text[start..i]), addBos: false));
                    ids.Add(id);
                    length = special.Length;
                    break;
                }
            }
            i += Math.Max(length, 1);
            if (length > 0) start = i;
        }
        if (start < text.Length)
        {
            ids.AddRange(_tokenizer.Encode(Unescape(text[start..]), addBos: false));
        }
        return ids;
    }

    // Control tokens and "<|...|>"-style pieces, longest first, so templates can spell them as text.
    private (string, int)[] FindSpecialTokens()
    {
        var found = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < _tokenizer.VocabSize; id++)
        {
            string piece = _tokenizer.TokenPiece(id);
            if (piece.Length >= 3 && (_tokenizer.IsControl(id) || SpecialPiece().IsMatch(piece)) && piece.StartsWith('<') && piece.EndsWith('>'))
            {
                found.TryAdd(piece, id);
            }
        }
        return found.OrderByDescending(kv => kv.Key.Length).Select(kv => (kv.Key, kv.Value)).ToArray();
    }

    [GeneratedRegex(@"^<\|[^|<>\s]+\|>$")]
    private static partial Regex SpecialPiece();
}
