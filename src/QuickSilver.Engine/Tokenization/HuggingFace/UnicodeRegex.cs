using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace QuickSilver.Engine.Tokenization.HuggingFace;

/// <summary>
/// A pre-tokenizer regex matched over code points, as the Rust (onig) and JavaScript (<c>u</c> flag) engines of the
/// reference tokenizers match it, although .NET matches UTF-16 code units.
/// </summary>
/// <remarks>
/// .NET's <c>\p{L}</c>, <c>\p{N}</c>, <c>.</c> and <c>[^…]</c> see a supplementary character as two surrogates of
/// category Cs, so <c>\p{L}+</c> stops before 𝐀 and <c>[^\s\p{L}\p{N}]</c> can split an emoji in half. Here the text
/// is matched in a shadow copy where each supplementary code point is replaced by one BMP stand-in of the same
/// general category (𝐀 → À, 😀 → ¦), and match positions are mapped back. Patterns that name supplementary code points
/// literally would be misread, which is why the stand-ins are characters no real pre-tokenizer pattern names.
/// Possessive quantifiers (<c>?+</c>, <c>++</c>, <c>*+</c>) are rewritten to atomic groups, which .NET supports.
/// </remarks>
internal sealed class UnicodeRegex
{
    private static readonly char[] StandIns = BuildStandIns();
    private readonly Regex _regex;

    /// <summary>Compiles <paramref name="pattern"/>; <paramref name="where"/> names the file and field in errors.</summary>
    /// <exception cref="TokenizerException">.NET cannot parse the pattern.</exception>
    public UnicodeRegex(string pattern, string where)
    {
        Pattern = pattern;
        try
        {
            _regex = new Regex(PossessiveRewriter.Rewrite(pattern), RegexOptions.CultureInvariant | RegexOptions.Compiled);
        }
        catch (ArgumentException ex)
        {
            throw new TokenizerException($"{where}: regex '{pattern}' is not supported by the .NET engine: {ex.Message}", ex);
        }
    }

    /// <summary>The pattern as written in the tokenizer file.</summary>
    public string Pattern { get; }

    /// <summary>The non-overlapping matches, left to right, as (start, length) in <paramref name="text"/>'s UTF-16 indices.</summary>
    public List<(int Start, int Length)> Matches(string text)
    {
        var result = new List<(int, int)>();
        if (!HasSurrogate(text))
        {
            foreach (ValueMatch m in _regex.EnumerateMatches(text))
            {
                result.Add((m.Index, m.Length));
            }
            return result;
        }

        // Shadow index → original index; one extra slot for the end of the text.
        var shadow = new StringBuilder(text.Length);
        var map = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length; i++)
        {
            map.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                int cp = char.ConvertToUtf32(text[i], text[i + 1]);
                shadow.Append(StandIns[(int)CharUnicodeInfo.GetUnicodeCategory(cp)]);
                i++;
            }
            else
            {
                shadow.Append(text[i]);
            }
        }
        map.Add(text.Length);
        foreach (ValueMatch m in _regex.EnumerateMatches(shadow.ToString()))
        {
            int start = map[m.Index];
            result.Add((start, map[m.Index + m.Length] - start));
        }
        return result;
    }

    /// <summary>Replaces every match with <paramref name="replacement"/>.</summary>
    public string Replace(string text, string replacement)
    {
        var matches = Matches(text);
        if (matches.Count == 0)
        {
            return text;
        }
        var builder = new StringBuilder(text.Length);
        int previous = 0;
        foreach (var (start, length) in matches)
        {
            builder.Append(text, previous, start - previous).Append(replacement);
            previous = start + length;
        }
        return builder.Append(text, previous, text.Length - previous).ToString();
    }

    private static bool HasSurrogate(string text)
    {
        foreach (char c in text)
        {
            if (char.IsSurrogate(c))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>One BMP character per <see cref="UnicodeCategory"/>, of that category.</summary>
    private static char[] BuildStandIns()
    {
        var table = new char[32];
        Array.Fill(table, '\u0378'); // unassigned (Cn)
        Set(UnicodeCategory.UppercaseLetter, '\u00C0');
        Set(UnicodeCategory.LowercaseLetter, '\u00B5');
        Set(UnicodeCategory.TitlecaseLetter, '\u01C5');
        Set(UnicodeCategory.ModifierLetter, '\u02B0');
        Set(UnicodeCategory.OtherLetter, '\u00AA');
        Set(UnicodeCategory.NonSpacingMark, '\u0300');
        Set(UnicodeCategory.SpacingCombiningMark, '\u0903');
        Set(UnicodeCategory.EnclosingMark, '\u0488');
        Set(UnicodeCategory.DecimalDigitNumber, '\u0660');
        Set(UnicodeCategory.LetterNumber, '\u2160');
        Set(UnicodeCategory.OtherNumber, '\u00B2');
        Set(UnicodeCategory.ConnectorPunctuation, '\u203F');
        Set(UnicodeCategory.DashPunctuation, '\u2010');
        Set(UnicodeCategory.OpenPunctuation, '\u2045');
        Set(UnicodeCategory.ClosePunctuation, '\u2046');
        Set(UnicodeCategory.InitialQuotePunctuation, '\u00AB');
        Set(UnicodeCategory.FinalQuotePunctuation, '\u00BB');
        Set(UnicodeCategory.OtherPunctuation, '\u00A1');
        Set(UnicodeCategory.MathSymbol, '\u00AC');
        Set(UnicodeCategory.CurrencySymbol, '\u00A2');
        Set(UnicodeCategory.ModifierSymbol, '\u00A8');
        Set(UnicodeCategory.OtherSymbol, '\u00A6');
        Set(UnicodeCategory.Format, '\u00AD');
        Set(UnicodeCategory.PrivateUse, '\uE000');
        Set(UnicodeCategory.SpaceSeparator, '\u3000');
        Set(UnicodeCategory.Control, '\u0001');
        return table;

        void Set(UnicodeCategory category, char standIn)
        {
            if (char.GetUnicodeCategory(standIn) != category)
            {
                throw new InvalidOperationException($"Stand-in U+{(int)standIn:X4} is not {category}.");
            }
            table[(int)category] = standIn;
        }
    }
}
