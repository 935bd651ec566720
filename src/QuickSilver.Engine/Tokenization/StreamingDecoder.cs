using System.Text;

namespace QuickSilver.Engine.Tokenization;

/// <summary>
/// Turns generated token ids into text one id at a time, for streaming responses. Bytes of a UTF-8 character split
/// across tokens (byte fallback, byte-level BPE) are held back until the character completes, and the leading-space rule
/// of <see cref="ITokenizer.TokenBytesAtTextStart"/> applies to the first id and to every id after BOS, so the
/// concatenated outputs of <see cref="Append"/> followed by <see cref="Flush"/> equal <see cref="ITokenizer.Decode"/> of
/// all the ids. One instance per request; not thread-safe.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly ITokenizer _tokenizer;
    private readonly Decoder _utf8 = TokenDecoding.Utf8.GetDecoder();
    private char[] _chars = new char[16];
    private bool _atTextStart = true;

    /// <summary>Creates a decoder for the ids of one sequence.</summary>
    /// <param name="tokenizer">The tokenizer that produced the ids.</param>
    /// <param name="precedingId">
    /// The id right before the first one to be appended, usually the last prompt id, so that a generated continuation keeps
    /// its leading space (" a" after "Once upon" stays " a"). Null, or BOS, means the appended ids begin the text and the
    /// first one loses its dummy-prefix space, exactly as <see cref="ITokenizer.Decode"/> treats its first id.
    /// </param>
    /// <exception cref="TokenizerException"><paramref name="precedingId"/> is outside the vocabulary.</exception>
    public StreamingDecoder(ITokenizer tokenizer, int? precedingId = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        if (precedingId is { } id)
        {
            _ = tokenizer.IsControl(id); // validates the id
            _atTextStart = id == tokenizer.BosTokenId;
        }
    }

    /// <summary>Adds one id and returns the text it completes (possibly empty).</summary>
    /// <exception cref="TokenizerException">The id is outside the vocabulary.</exception>
    public string Append(int id)
    {
        byte[] bytes = _atTextStart ? _tokenizer.TokenBytesAtTextStart(id) : _tokenizer.TokenBytes(id);
        _atTextStart = id == _tokenizer.BosTokenId;
        return DecodeBytes(bytes, flush: false);
    }

    /// <summary>Returns whatever is held back, with an unfinished character as U+FFFD, and starts a new text.</summary>
    public string Flush()
    {
        string text = DecodeBytes([], flush: true);
        _atTextStart = true;
        return text;
    }

    private string DecodeBytes(byte[] bytes, bool flush)
    {
        int needed = _utf8.GetCharCount(bytes, flush: false) + 4;
        if (_chars.Length < needed)
        {
            _chars = new char[Math.Max(needed, _chars.Length * 2)];
        }
        _utf8.Convert(bytes, 0, bytes.Length, _chars, 0, _chars.Length, flush, out _, out int charsUsed, out _);
        return new string(_chars, 0, charsUsed);
    }
}
