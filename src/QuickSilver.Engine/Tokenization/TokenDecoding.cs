using System.Text;

namespace QuickSilver.Engine.Tokenization;

/// <summary>The decoding rule every tokenizer shares, so that <see cref="ITokenizer.Decode"/> and <see cref="StreamingDecoder"/> agree byte for byte.</summary>
internal static class TokenDecoding
{
    /// <summary>UTF-8 that replaces invalid sequences with U+FFFD instead of throwing.</summary>
    public static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    /// <summary>
    /// Concatenates the token bytes, taking <see cref="ITokenizer.TokenBytesAtTextStart"/> for the first id and for every
    /// id that directly follows BOS, then decodes the bytes as UTF-8 (invalid sequences become U+FFFD).
    /// </summary>
    public static string Decode(ITokenizer tokenizer, IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new List<byte>();
        bool atTextStart = true;
        foreach (int id in ids)
        {
            bytes.AddRange(atTextStart ? tokenizer.TokenBytesAtTextStart(id) : tokenizer.TokenBytes(id));
            atTextStart = id == tokenizer.BosTokenId;
        }
        return Utf8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }

    /// <summary>Throws the exception every tokenizer uses for an id outside its vocabulary.</summary>
    public static TokenizerException OutOfRange(int id, int vocabSize, string source) =>
        new($"Token id {id} is outside the vocabulary of {vocabSize} tokens ({source}); valid ids are 0..{vocabSize - 1}.");
}
