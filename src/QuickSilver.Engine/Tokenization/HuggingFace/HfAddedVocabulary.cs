using System.Text;

namespace QuickSilver.Engine.Tokenization.HuggingFace;

/// <summary>One entry of tokenizer.json's <c>added_tokens</c> (or a GGUF control / user-defined token).</summary>
/// <param name="Id">The token id.</param>
/// <param name="Content">The text that stands for the token.</param>
/// <param name="Special">Special tokens (BOS, EOS, turn markers) are never produced from user text and decode to nothing.</param>
/// <param name="LeftStrip">Whether the whitespace before a match belongs to the token.</param>
/// <param name="RightStrip">Whether the whitespace after a match belongs to the token.</param>
/// <param name="Normalized">Whether the token is matched in the normalized text rather than the raw text.</param>
/// <param name="SingleWord">Whether a match must not touch a word character on either side.</param>
internal sealed record AddedToken(int Id, string Content, bool Special, bool LeftStrip = false, bool RightStrip = false,
    bool Normalized = false, bool SingleWord = false);

/// <summary>
/// Finds added tokens in text as tokenizers' <c>AddedVocabulary</c> does: leftmost-longest matches, first the tokens
/// matched on raw text, then (after normalization) the <c>normalized</c> ones, with <c>lstrip</c>/<c>rstrip</c>/<c>single_word</c>.
/// </summary>
internal sealed class HfAddedVocabulary
{
    private readonly Matcher _raw;
    private readonly Matcher _normalized;

    /// <summary>Builds the matchers; <paramref name="normalizer"/> normalizes the content of <c>normalized</c> tokens.</summary>
    public HfAddedVocabulary(IReadOnlyList<AddedToken> tokens, IHfNormalizer? normalizer)
    {
        Tokens = tokens;
        _raw = new Matcher(tokens.Where(t => !t.Normalized).Select(t => (t.Content, t)));
        _normalized = new Matcher(tokens.Where(t => t.Normalized).Select(t => (normalizer?.Normalize(t.Content) ?? t.Content, t)));
    }

    /// <summary>All added tokens.</summary>
    public IReadOnlyList<AddedToken> Tokens { get; }

    /// <summary>
    /// Splits <paramref name="piece"/> into added-token matches (id ≥ 0) and text pieces (id -1), matching the raw-text
    /// tokens (<paramref name="normalizedPass"/> false) or the normalized ones. With <paramref name="parseSpecial"/> false,
    /// special tokens are left as text, as tokenizers' <c>encode_special_tokens</c> does.
    /// </summary>
    public void Split(TextPiece piece, bool normalizedPass, bool parseSpecial, List<(TextPiece Piece, int Id)> output)
    {
        var matcher = normalizedPass ? _normalized : _raw;
        string text = piece.Text;
        if (matcher.IsEmpty)
        {
            output.Add((piece, -1));
            return;
        }
        int startOffset = 0;
        int position = 0;
        while (matcher.FindLeftmostLongest(text, position, out int matchStart, out AddedToken? token, out int matchLength))
        {
            position = matchStart + matchLength;
            if (!parseSpecial && token!.Special)
            {
                continue;
            }
            int start = matchStart, stop = matchStart + matchLength;
            if (token!.SingleWord)
            {
                bool spaceBefore = start == 0 || !IsWordChar(PreviousRune(text, start));
                bool spaceAfter = stop == text.Length || !IsWordChar(Rune.GetRuneAt(text, stop));
                if (!spaceBefore || !spaceAfter)
                {
                    continue;
                }
            }
            if (token.LeftStrip)
            {
                int newStart = start;
                while (newStart > 0 && Rune.IsWhiteSpace(PreviousRune(text, newStart)))
                {
                    newStart -= PreviousRune(text, newStart).Utf16SequenceLength;
                }
                start = Math.Max(newStart, startOffset);
            }
            if (token.RightStrip)
            {
                while (stop < text.Length && Rune.IsWhiteSpace(Rune.GetRuneAt(text, stop)))
                {
                    stop += Rune.GetRuneAt(text, stop).Utf16SequenceLength;
                }
            }
            if (start > startOffset)
            {
                output.Add((new TextPiece(text[startOffset..start], piece.AtStart && startOffset == 0), -1));
            }
            output.Add((new TextPiece(text[start..stop], piece.AtStart && start == 0), token.Id));
            startOffset = stop;
            position = Math.Max(position, stop);
        }
        if (startOffset < text.Length)
        {
            output.Add((new TextPiece(text[startOffset..], piece.AtStart && startOffset == 0), -1));
        }
    }

    private static Rune PreviousRune(string text, int index) =>
        index >= 2 && char.IsLowSurrogate(text[index - 1]) && char.IsHighSurrogate(text[index - 2])
            ? Rune.GetRuneAt(text, index - 2)
            : new Rune(char.IsSurrogate(text[index - 1]) ? '\uFFFD' : text[index - 1]);

    // The reference's word characters: alphanumeric or '_'.
    private static bool IsWordChar(Rune rune) => Rune.IsLetterOrDigit(rune) || rune.Value == '_';

    /// <summary>Leftmost-longest literal matching over a set of patterns, indexed by first character.</summary>
    private sealed class Matcher
    {
        private readonly Dictionary<char, (string Pattern, AddedToken Token)[]> _byFirst;

        public Matcher(IEnumerable<(string Pattern, AddedToken Token)> patterns)
        {
            _byFirst = patterns.Where(p => p.Pattern.Length > 0)
                .GroupBy(p => p.Pattern[0])
                .ToDictionary(g => g.Key, g => g.OrderByDescending(p => p.Pattern.Length).ToArray());
        }

        public bool IsEmpty => _byFirst.Count == 0;

        public bool FindLeftmostLongest(string text, int from, out int start, out AddedToken? token, out int length)
        {
            for (int i = from; i < text.Length; i++)
            {
                if (!_byFirst.TryGetValue(text[i], out var candidates))
                {
                    continue;
                }
                foreach (var (pattern, candidate) in candidates)
                {
                    if (text.AsSpan(i).StartsWith(pattern, StringComparison.Ordinal))
                    {
                        start = i;
                        token = candidate;
                        length = pattern.Length;
                        return true;
                    }
                }
            }
            start = -1;
            token = null;
            length = 0;
            return false;
        }
    }
}
