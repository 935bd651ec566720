using System.Text;

namespace QuickSilver.Engine.Tokenization.HuggingFace;

/// <summary>
/// Rewrites the possessive quantifiers of Oniguruma/PCRE patterns (<c>X?+</c>, <c>X*+</c>, <c>X++</c>, <c>X{n,m}+</c>),
/// which .NET lacks, into the equivalent atomic groups <c>(?&gt;X?)</c>.
/// </summary>
internal static class PossessiveRewriter
{
    /// <summary>The pattern with possessive quantifiers made atomic groups; unchanged when it has none.</summary>
    public static string Rewrite(string pattern)
    {
        if (!pattern.Contains("?+") && !pattern.Contains("++") && !pattern.Contains("*+") && !pattern.Contains("}+"))
        {
            return pattern;
        }
        // Atoms are kept as (start, end) in the output; a possessive quantifier wraps the last atom and its quantifier.
        var output = new StringBuilder();
        var atomStarts = new Stack<int>();
        int lastAtomStart = -1;
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            int atomStart = output.Length;
            switch (c)
            {
                case '\\':
                    output.Append(c);
                    if (i + 1 < pattern.Length)
                    {
                        char e = pattern[++i];
                        output.Append(e);
                        if ((e is 'p' or 'P') && i + 1 < pattern.Length && pattern[i + 1] == '{')
                        {
                            int close = pattern.IndexOf('}', i + 1);
                            output.Append(pattern, i + 1, close - i);
                            i = close;
                        }
                    }
                    lastAtomStart = atomStart;
                    continue;
                case '[':
                    int end = ClassEnd(pattern, i);
                    output.Append(pattern, i, end - i + 1);
                    i = end;
                    lastAtomStart = atomStart;
                    continue;
                case '(':
                    atomStarts.Push(output.Length);
                    output.Append(c);
                    lastAtomStart = -1;
                    continue;
                case ')':
                    output.Append(c);
                    lastAtomStart = atomStarts.Count > 0 ? atomStarts.Pop() : -1;
                    continue;
                case '?' or '*' or '+' or '{':
                    int quantifierEnd = c == '{' ? pattern.IndexOf('}', i) : i;
                    if (quantifierEnd < 0)
                    {
                        output.Append(c);
                        continue;
                    }
                    string quantifier = pattern.Substring(i, quantifierEnd - i + 1);
                    i = quantifierEnd;
                    if (i + 1 < pattern.Length && pattern[i + 1] == '+' && lastAtomStart >= 0)
                    {
                        i++;
                        output.Insert(lastAtomStart, "(?>").Append(quantifier).Append(')');
                    }
                    else
                    {
                        output.Append(quantifier);
                        if (i + 1 < pattern.Length && pattern[i + 1] == '?')
                        {
                            output.Append(pattern[++i]);
                        }
                    }
                    lastAtomStart = -1;
                    continue;
                default:
                    output.Append(c);
                    lastAtomStart = c == '|' ? -1 : atomStart;
                    continue;
            }
        }
        return output.ToString();
    }

    private static int ClassEnd(string pattern, int open)
    {
        int i = open + 1;
        if (i < pattern.Length && pattern[i] == '^') i++;
        if (i < pattern.Length && pattern[i] == ']') i++;
        for (; i < pattern.Length; i++)
        {
            if (pattern[i] == '\\') { i++; continue; }
            if (pattern[i] == '[') { i = ClassEnd(pattern, i); continue; }
            if (pattern[i] == ']') return i;
        }
        return pattern.Length - 1;
    }
}
