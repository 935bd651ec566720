using System.Globalization;
using System.Text;

namespace QuickSilver.Engine.Tokenization.HuggingFace;

/// <summary>
/// The pre-tokenizers of tokenizers that split on a character class rather than a regex: <c>Punctuation</c>,
/// <c>WhitespaceSplit</c>, <c>CharDelimiterSplit</c>, <c>BertPreTokenizer</c>, and <c>Whitespace</c> (<c>\w+|[^\w\s]+</c>).
/// Each character the class accepts is one match, as with the reference's <c>split(char predicate, behavior)</c>.
/// </summary>
internal static class HfCharPreTokenizers
{
    /// <summary>Rust <c>char::is_whitespace</c> (the Unicode White_Space property).</summary>
    public static bool IsWhitespace(Rune rune) => Rune.IsWhiteSpace(rune);

    /// <summary>tokenizers' <c>is_punc</c>: ASCII punctuation or a Unicode punctuation category (P*).</summary>
    public static bool IsPunctuation(Rune rune) =>
        (rune.Value is > 0x20 and < 0x7F && !char.IsAsciiLetterOrDigit((char)rune.Value))
        || Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;

    /// <summary>The positions of the characters <paramref name="predicate"/> accepts, one match each.</summary>
    public static List<(int Start, int Length)> CharMatches(string text, Func<Rune, bool> predicate)
    {
        var matches = new List<(int, int)>();
        for (int i = 0; i < text.Length;)
        {
            Rune.DecodeFromUtf16(text.AsSpan(i), out Rune rune, out int width);
            if (predicate(rune))
            {
                matches.Add((i, width));
            }
            i += width;
        }
        return matches;
    }

    /// <summary>Splits every piece at the characters a predicate accepts.</summary>
    internal sealed class CharSplitPreTokenizer(Func<Rune, bool> predicate, SplitBehavior behavior) : IHfPreTokenizer
    {
        public List<TextPiece> PreTokenize(List<TextPiece> pieces)
        {
            var output = new List<TextPiece>(pieces.Count * 4);
            foreach (var piece in pieces)
            {
                HfSplit.Split(piece, CharMatches(piece.Text, predicate), invert: false, behavior, output);
            }
            return output;
        }
    }

    /// <summary>BertPreTokenizer: whitespace removed, then each punctuation character isolated.</summary>
    internal sealed class BertPreTokenizer : IHfPreTokenizer
    {
        private readonly CharSplitPreTokenizer _whitespace = new(IsWhitespace, SplitBehavior.Removed);
        private readonly CharSplitPreTokenizer _punctuation = new(IsPunctuation, SplitBehavior.Isolated);

        public List<TextPiece> PreTokenize(List<TextPiece> pieces) => _punctuation.PreTokenize(_whitespace.PreTokenize(pieces));
    }
}
