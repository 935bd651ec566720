using System.Text;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>
/// Turns generated tokens into text as it becomes safe to show: bytes are decoded incrementally (a character split across
/// tokens waits for its last byte), stop sequences are matched on the decoded text across token boundaries, and any tail that
/// could still grow into a stop sequence is held back. The stop text itself is never emitted. Leading whitespace of the reply is dropped.
/// </summary>
internal sealed class StopSequenceStreamer
{
    private readonly ITokenizer _tokenizer;
    private readonly string[] _stops;
    private readonly Decoder _decoder = new UTF8Encoding(false, false).GetDecoder();
    private readonly StringBuilder _pending = new();
    private readonly StringBuilder _emitted = new();
    private readonly char[] _chars = new char[64];

    private readonly IReadOnlyDictionary<int, string> _visibleSpecials;

    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="stopSequences">Texts that end the reply.</param>
    /// <param name="visibleSpecials">Control tokens that decode to nothing but whose text the reply must show, such as a
    /// tool-call marker (<c>&lt;|python_tag|&gt;</c>, <c>[TOOL_CALLS]</c>) that the reply parser looks for.</param>
    public StopSequenceStreamer(ITokenizer tokenizer, IEnumerable<string> stopSequences, IReadOnlyDictionary<int, string>? visibleSpecials = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _visibleSpecials = visibleSpecials ?? new Dictionary<int, string>();
        _stops = stopSequences.Where(s => !string.IsNullOrEmpty(s)).Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>A stop sequence was found; later tokens are ignored.</summary>
    public bool Stopped { get; private set; }

    /// <summary>The stop sequence that ended the text, if any.</summary>
    public string? MatchedStopSequence { get; private set; }

    /// <summary>All text emitted so far.</summary>
    public string EmittedText => _emitted.ToString();

    /// <summary>Adds one token; returns the text that can be shown now (possibly empty).</summary>
    public string Push(int tokenId)
    {
        if (Stopped) return "";
        byte[] bytes = _tokenizer.TokenBytes(tokenId);
        if (bytes.Length == 0)
        {
            if (!_visibleSpecials.TryGetValue(tokenId, out string? special)) return "";
            _pending.Append(special);
            return Drain(final: false);
        }
        int count = _decoder.GetCharCount(bytes, flush: false);
        char[] buffer = count <= _chars.Length ? _chars : new char[count];
        int written = _decoder.GetChars(bytes, 0, bytes.Length, buffer, 0, flush: false);
        _pending.Append(buffer, 0, written);
        return Drain(final: false);
    }

    /// <summary>Ends the text: returns whatever was held back (unless a stop sequence ended it).</summary>
    public string Flush()
    {
        if (Stopped) return "";
        int count = _decoder.GetCharCount([], flush: true);
        if (count > 0)
        {
            char[] buffer = new char[count];
            _decoder.GetChars([], 0, 0, buffer, 0, flush: true);
            _pending.Append(buffer);
        }
        return Drain(final: true);
    }

    private string Drain(bool final)
    {
        string pending = _pending.ToString();
        int stopAt = -1;
        foreach (string stop in _stops)
        {
            int index = pending.IndexOf(stop, StringComparison.Ordinal);
            if (index >= 0 && (stopAt < 0 || index < stopAt))
            {
                stopAt = index;
                MatchedStopSequence = stop;
            }
        }
        string ready;
        if (stopAt >= 0)
        {
            Stopped = true;
            ready = pending[..stopAt];
            _pending.Clear();
        }
        else
        {
            int hold = final ? 0 : HeldBack(pending);
            ready = pending[..^hold];
            _pending.Remove(0, ready.Length);
        }
        if (_emitted.Length == 0)
        {
            ready = ready.TrimStart();
        }
        _emitted.Append(ready);
        return ready;
    }

    // The longest tail of the pending text that is a proper prefix of some stop sequence.
    private int HeldBack(string pending)
    {
        int best = 0;
        foreach (string stop in _stops)
        {
            for (int k = Math.Min(stop.Length - 1, pending.Length); k > best; k--)
            {
                if (pending.AsSpan(pending.Length - k).SequenceEqual(stop.AsSpan(0, k)))
                {
                    best = k;
                    break;
                }
            }
        }
        return best;
    }
}
