namespace QuickSilver.Engine.Tests.Tokenization;

/// <summary>OpenAI's bytes_to_unicode, written out again for tests (independent of the engine's copy).</summary>
internal static class Gpt2AlphabetForTests
{
    public static char Char(byte b)
    {
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range(0xA1, 0xAC - 0xA1 + 1)).Concat(Enumerable.Range(0xAE, 0xFF - 0xAE + 1)).ToHashSet();
        if (printable.Contains(b)) return (char)b;
        int n = 0;
        for (int x = 0; x < b; x++) if (!printable.Contains(x)) n++;
        return (char)(256 + n);
    }
}
