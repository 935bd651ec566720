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

    /// <summary>
    /// The text UTF-8 can carry: each unpaired surrogate becomes U+FFFD, as <see cref="Utf8"/> would encode it. Libraries
    /// that encode a lone surrogate as three bytes (WTF-8) would otherwise decode it as three U+FFFD.
    /// </summary>
    public static string ReplaceUnpairedSurrogates(string text)
    {
        if (!HasUnpairedSurrogate(text))
        {
            return text;
        }
        var builder = new StringBuilder(text.Length);
        for (int j = 0; j < text.Length; j++)
        {
            if (!char.IsSurrogate(text[j]))
            {
                builder.Append(text[j]);
            }
            else if (IsPairAt(text, j))
            {
                builder.Append(text[j]).Append(text[++j]);
            }
            else
            {
                builder.Append('\uFFFD');
            }
        }
        return builder.ToString();

        static bool HasUnpairedSurrogate(string s)
        {
            for (int i = 0; i < s.Length; i++)
            {
                if (!char.IsSurrogate(s[i]))
                {
                    continue;
                }
                if (!IsPairAt(s, i))
                {
                    return true;
                }
                i++;
            }
            return false;
        }

        static bool IsPairAt(string s, int index) => index + 1 < s.Length && char.IsSurrogatePair(s[index], s[index + 1]);
    }

    /// <summary>Throws the exception every tokenizer uses for an id outside its vocabulary.</summary>
    public static TokenizerException OutOfRange(int id, int vocabSize, string source) =>
        new($"Token id {id} is outside the vocabulary of {vocabSize} tokens ({source}); valid ids are 0..{vocabSize - 1}.");
}
