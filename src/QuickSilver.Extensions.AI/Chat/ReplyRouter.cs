using System.Text;
using Microsoft.Extensions.AI;
using QuickSilver.Extensions.AI.Chat.Protocols;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>
/// Splits the streamed reply text into what the caller sees: <c>&lt;think&gt;…&lt;/think&gt;</c> as
/// <see cref="TextReasoningContent"/>, answer text as <see cref="TextContent"/>, and the tool-call section (from the
/// protocol's marker on, or a reply that is bare JSON) held back until the end and parsed into <see cref="FunctionCallContent"/>.
/// Tails that could still grow into a marker are held back, so a marker split across tokens is never shown as text.
/// </summary>
internal sealed class ReplyRouter
{
    private const string ThinkOpen = "<think>";
    private const string ThinkClose = "</think>";

    private readonly ToolCallProtocol? _protocol;
    private readonly bool _genericCalls;
    private readonly bool _callsOnly;
    private readonly StringBuilder _pending = new();
    private readonly StringBuilder _section = new();
    private State _state;
    private bool _textStarted;

    private enum State { Start, Reasoning, Text, Calls }

    /// <param name="protocol">The native protocol, or null.</param>
    /// <param name="genericCalls">Tools are offered through the generic JSON protocol: a reply opening with '{' or '[' may be calls.</param>
    /// <param name="callsOnly">A call is required: everything after the reasoning is the call section.</param>
    /// <param name="startsInReasoning">The prompt already opened <c>&lt;think&gt;</c> (DeepSeek-R1-style templates).</param>
    public ReplyRouter(ToolCallProtocol? protocol, bool genericCalls, bool callsOnly, bool startsInReasoning)
    {
        _protocol = protocol;
        _genericCalls = genericCalls;
        _callsOnly = callsOnly;
        _state = startsInReasoning ? State.Reasoning : State.Start;
    }

    /// <summary>The held call section (empty when the reply had none).</summary>
    public string CallSection => _section.ToString();

    /// <summary>Adds streamed text; returns the contents that can be shown now.</summary>
    public List<AIContent> Push(string text)
    {
        var output = new List<AIContent>();
        _pending.Append(text);
        Drain(output, final: false);
        return output;
    }

    /// <summary>Ends the reply: flushes held text and parses the call section.</summary>
    /// <param name="parse">Parses a call section (the protocol's, or the generic one); false when it is not calls.</param>
    public List<AIContent> Finish(Func<string, List<FunctionCallContent>?> parse)
    {
        var output = new List<AIContent>();
        Drain(output, final: true);
        string section = _section.ToString();
        if (section.Trim().Length > 0)
        {
            if (parse(section) is { Count: > 0 } calls) output.AddRange(calls);
            else AddText(output, section);
        }
        return output;
    }

    private void Drain(List<AIContent> output, bool final)
    {
        while (_pending.Length > 0)
        {
            string pending = _pending.ToString();
            switch (_state)
            {
                case State.Start:
                {
                    string trimmed = pending.TrimStart();
                    if (trimmed.Length == 0) { if (final) _pending.Clear(); return; }
                    if (!final && ThinkOpen.StartsWith(trimmed, StringComparison.Ordinal) && trimmed.Length < ThinkOpen.Length) return;
                    if (trimmed.StartsWith(ThinkOpen, StringComparison.Ordinal))
                    {
                        _pending.Clear().Append(trimmed[ThinkOpen.Length..]);
                        _state = State.Reasoning;
                        continue;
                    }
                    _pending.Clear().Append(trimmed);
                    _state = State.Text;
                    continue;
                }
                case State.Reasoning:
                {
                    int close = pending.IndexOf(ThinkClose, StringComparison.Ordinal);
                    if (close >= 0)
                    {
                        if (close > 0) output.Add(new TextReasoningContent(pending[..close]));
                        _pending.Clear().Append(pending[(close + ThinkClose.Length)..].TrimStart());
                        _state = State.Text;
                        continue;
                    }
                    int hold = final ? 0 : HeldBack(pending, ThinkClose);
                    if (pending.Length > hold) output.Add(new TextReasoningContent(pending[..^hold]));
                    _pending.Remove(0, pending.Length - hold);
                    return;
                }
                case State.Text:
                {
                    if (!_textStarted)
                    {
                        string trimmed = pending.TrimStart();
                        if (trimmed.Length == 0) { _pending.Clear(); return; }
                        if (_callsOnly || (trimmed[0] == '{' && (_protocol?.BareJsonCalls ?? false)) || (_genericCalls && trimmed[0] is '{' or '['))
                        {
                            _state = State.Calls;
                            continue;
                        }
                    }
                    if (_protocol is not null)
                    {
                        int marker = pending.IndexOf(_protocol.CallMarker, StringComparison.Ordinal);
                        if (marker >= 0)
                        {
                            AddText(output, pending[..marker]);
                            _pending.Remove(0, marker);
                            _state = State.Calls;
                            continue;
                        }
                    }
                    int hold = final || _protocol is null ? 0 : HeldBack(pending, _protocol.CallMarker);
                    AddText(output, pending[..^hold]);
                    _pending.Remove(0, pending.Length - hold);
                    return;
                }
                case State.Calls:
                    _section.Append(pending);
                    _pending.Clear();
                    return;
            }
        }
    }

    private void AddText(List<AIContent> output, string text)
    {
        if (!_textStarted) text = text.TrimStart();
        if (text.Length == 0) return;
        _textStarted = true;
        output.Add(new TextContent(text));
    }

    // The longest tail of the text that is a proper prefix of the marker.
    private static int HeldBack(string text, string marker)
    {
        for (int k = Math.Min(marker.Length - 1, text.Length); k > 0; k--)
        {
            if (text.AsSpan(text.Length - k).SequenceEqual(marker.AsSpan(0, k))) return k;
        }
        return 0;
    }
}
