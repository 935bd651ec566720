namespace RagDemo;

/// <summary>Splits text into chunks of whole sentences, each at most a given number of characters (a longer sentence is its own chunk).</summary>
internal static class TextChunker
{
    public static IEnumerable<string> Chunk(string text, int maxCharacters)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCharacters, 1);
        var current = new System.Text.StringBuilder();
        foreach (string sentence in Sentences(text))
        {
            if (current.Length > 0 && current.Length + 1 + sentence.Length > maxCharacters)
            {
                yield return current.ToString();
                current.Clear();
            }
            if (current.Length > 0) current.Append(' ');
            current.Append(sentence);
        }
        if (current.Length > 0) yield return current.ToString();
    }

    private static IEnumerable<string> Sentences(string text)
    {
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] is '.' or '!' or '?' && (i + 1 == text.Length || char.IsWhiteSpace(text[i + 1])))
            {
                string sentence = text[start..(i + 1)].Trim();
                if (sentence.Length > 0) yield return sentence;
                start = i + 1;
            }
        }
        string rest = text[start..].Trim();
        if (rest.Length > 0) yield return rest;
    }
}
