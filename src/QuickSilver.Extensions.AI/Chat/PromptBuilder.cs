using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Extensions.AI.Chat.Protocols;
using QuickSilver.Extensions.AI.Templates;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>
/// Builds a request's prompt: converts the conversation (<see cref="ChatMessageConverter"/>), renders the chat template and
/// tokenizes the result, mapping the template's special-token texts (e.g. "&lt;|im_start|&gt;", "[TOOL_CALLS]") to their ids.
/// Special-token text inside message content is disguised first, so a user typing "&lt;|im_start|&gt;" gets those characters,
/// not a forged turn boundary.
/// </summary>
internal sealed partial class PromptBuilder
{
    // The disguise swaps a special token's opening character for a private-use one (a private-use character already in the
    // text is doubled) and Encode undoes it after the special tokens are matched.
    private static readonly (char Disguise, char Original)[] Disguises = [('\uE000', '<'), ('\uE001', '[')];

    private readonly ITokenizer _tokenizer;
    private readonly Lazy<(string Text, int Id)[]> _specialTokens;

    public PromptBuilder(ITokenizer tokenizer, ChatTemplate template)
    {
        _tokenizer = tokenizer;
        Template = template;
        _specialTokens = new Lazy<(string, int)[]>(FindSpecialTokens);
        BosText = tokenizer.BosTokenId >= 0 ? tokenizer.TokenPiece(tokenizer.BosTokenId) : "";
        EosText = tokenizer.EosTokenId >= 0 ? tokenizer.TokenPiece(tokenizer.EosTokenId) : "";
        Protocol = template.SupportsTools && template is JinjaChatTemplate jinja ? ToolCallProtocol.Detect(jinja.Source) : null;
    }

    public ChatTemplate Template { get; }

    public string BosText { get; }

    public string EosText { get; }

    /// <summary>The template's native tool-call syntax, or null (generic JSON protocol, or a template that lays out tools without a known syntax).</summary>
    public ToolCallProtocol? Protocol { get; }

    /// <summary>Whether tools, calls and results go through the template itself.</summary>
    public bool NativeTools => Template.SupportsTools;

    /// <summary>Converts and validates the conversation into the template's request (with the generation prompt).</summary>
    /// <exception cref="ArgumentException">Empty conversation, unknown role, a message without content, or a result for a call never made.</exception>
    public ChatTemplateRequest ToRequest(IEnumerable<ChatMessage> messages, string? preamble, IReadOnlyList<AIFunctionDeclaration> tools)
    {
        ChatTemplateRequest converted = ChatMessageConverter.Convert(messages, Template, preamble, tools, Escape, Protocol?.TemplateCallId);
        return new ChatTemplateRequest(converted.Messages)
        {
            Tools = converted.Tools,
            AddGenerationPrompt = true,
            BosToken = BosText,
            EosToken = EosText,
        };
    }

    /// <summary>Renders the template.</summary>
    public string Render(ChatTemplateRequest request) => Template.Render(request);

    private string Escape(string content)
    {
        if (string.IsNullOrEmpty(content)) return content;
        foreach ((char disguise, _) in Disguises)
        {
            if (content.IndexOf(disguise) >= 0) content = content.Replace(disguise.ToString(), new string(disguise, 2));
        }
        foreach ((string special, _) in _specialTokens.Value)
        {
            if (!content.Contains(special, StringComparison.Ordinal)) continue;
            char disguise = Disguises.First(d => d.Original == special[0]).Disguise;
            content = content.Replace(special, disguise + special[1..], StringComparison.Ordinal);
        }
        return content;
    }

    private static string Unescape(string text)
    {
        if (text.IndexOfAny([Disguises[0].Disguise, Disguises[1].Disguise]) < 0) return text;
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            int kind = Array.FindIndex(Disguises, d => d.Disguise == text[i]);
            if (kind < 0) { sb.Append(text[i]); continue; }
            bool doubled = i + 1 < text.Length && text[i + 1] == text[i];
            sb.Append(doubled ? text[i] : Disguises[kind].Original);
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
            if (text[i] is '<' or '[')
            {
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

    /// <summary>Control tokens spelled <c>&lt;…&gt;</c> or <c>[…]</c>, and "&lt;|…|&gt;" pieces, longest first, so templates can spell them as text.</summary>
    public (string Text, int Id)[] SpecialTokens => _specialTokens.Value;

    private (string, int)[] FindSpecialTokens()
    {
        var found = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < _tokenizer.VocabSize; id++)
        {
            string piece = _tokenizer.TokenPiece(id);
            if (piece.Length < 3) continue;
            bool angled = piece.StartsWith('<') && piece.EndsWith('>');
            bool squared = piece.StartsWith('[') && piece.EndsWith(']');
            if ((angled && (_tokenizer.IsControl(id) || SpecialPiece().IsMatch(piece))) || (squared && _tokenizer.IsControl(id)))
            {
                found.TryAdd(piece, id);
            }
        }
        return found.OrderByDescending(kv => kv.Key.Length).Select(kv => (kv.Key, kv.Value)).ToArray();
    }

    [GeneratedRegex(@"^<\|[^|<>\s]+\|>$")]
    private static partial Regex SpecialPiece();
}
