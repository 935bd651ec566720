namespace QuickSilver.Engine.Tokenization;

/// <summary>
/// GPT-2's byte-level alphabet (<c>bytes_to_unicode</c> in OpenAI's encoder.py): every byte is shown as a printable
/// character, printable Latin-1 bytes as themselves and the rest as U+0100 onwards (space is Ġ U+0120, newline Ċ U+010A).
/// </summary>
internal static class Gpt2ByteAlphabet
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte = Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    /// <summary>The alphabet spelling of raw bytes.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++)
        {
            chars[i] = ByteToChar[bytes[i]];
        }
        return new string(chars);
    }

    /// <summary>The raw bytes of an alphabet string, or null when it holds a character outside the alphabet.</summary>
    public static byte[]? TryDecode(string piece)
    {
        var bytes = new byte[piece.Length];
        for (int i = 0; i < piece.Length; i++)
        {
            if (!CharToByte.TryGetValue(piece[i], out bytes[i]))
            {
                return null;
            }
        }
        return bytes;
    }

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        var assigned = new bool[256];
        foreach (var (first, last) in new[] { ('!', '~'), ('\u00A1', '\u00AC'), ('\u00AE', '\u00FF') })
        {
            for (int b = first; b <= last; b++)
            {
                map[b] = (char)b;
                assigned[b] = true;
            }
        }
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            if (!assigned[b])
            {
                map[b] = (char)next++;
            }
        }
        return map;
    }
}
