using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>
/// Splits a template into text, output and statement segments, applying Jinja's whitespace control
/// ("-" markers) and the trim_blocks / lstrip_blocks settings that Hugging Face uses for chat templates.
/// </summary>
internal static partial class JinjaLexer
{
    [GeneratedRegex(@"\{%(-?)\s*endraw\s*(-?)%\}")]
    private static partial Regex EndRaw();

    internal enum SegmentKind { Text, Output, Statement }

    internal readonly record struct Segment(SegmentKind Kind, string Content, int Offset);

    internal enum TokenKind { Name, String, Integer, Float, Operator, End }

    internal readonly record struct Token(TokenKind Kind, string Text, int Offset);

    public static List<Segment> Split(string source)
    {
        var segments = new List<Segment>();
        var text = new StringBuilder();
        int textStart = 0;
        int i = 0;
        bool trimNextLeading = false;   // set by "-%}" / "-}}": strip all leading whitespace of the next text
        bool trimNextNewline = false;   // trim_blocks: drop one newline after a block tag

        void FlushText()
        {
            if (text.Length > 0)
            {
                segments.Add(new Segment(SegmentKind.Text, text.ToString(), textStart));
                text.Clear();
            }
        }

        while (i < source.Length)
        {
            int open = source.IndexOf('{', i);
            while (open >= 0 && open + 1 < source.Length && source[open + 1] is not ('{' or '%' or '#'))
            {
                open = source.IndexOf('{', open + 1);
            }
            if (open < 0 || open + 1 >= source.Length)
            {
                open = source.Length;
            }

            string chunk = source[i..open];
            if (trimNextLeading)
            {
                chunk = chunk.TrimStart();
            }
            else if (trimNextNewline)
            {
                if (chunk.StartsWith("\r\n", StringComparison.Ordinal)) chunk = chunk[2..];
                else if (chunk.StartsWith('\n')) chunk = chunk[1..];
            }
            trimNextLeading = trimNextNewline = false;

            if (open >= source.Length)
            {
                if (text.Length == 0) textStart = i;
                text.Append(chunk);
                break;
            }

            char kind = source[open + 1];
            bool stripBefore = open + 2 < source.Length && source[open + 2] == '-';
            bool keepBefore = open + 2 < source.Length && source[open + 2] == '+';
            if (stripBefore)
            {
                chunk = chunk.TrimEnd();
            }
            else if (kind is '%' or '#' && !keepBefore)
            {
                // lstrip_blocks: whitespace between the start of the line and a block tag is dropped.
                int back = open;
                while (back > 0 && source[back - 1] is ' ' or '\t') back--;
                int strip = open - back;
                if ((back == 0 || source[back - 1] == '\n') && strip <= chunk.Length)
                {
                    chunk = chunk[..^strip];
                }
            }
            if (text.Length == 0) textStart = i;
            text.Append(chunk);

            string close = kind switch { '{' => "}}", '%' => "%}", _ => "#}" };
            int bodyStart = open + 2 + (stripBefore || keepBefore ? 1 : 0);
            int end = FindClose(source, bodyStart, close, kind == '#');
            if (end < 0)
            {
                throw new ChatTemplateException($"Chat template: unclosed '{{{kind}' at offset {open}.");
            }
            bool stripAfter = end > bodyStart && source[end - 1] == '-';
            bool keepAfter = end > bodyStart && source[end - 1] == '+' && kind != '{';
            string body = source[bodyStart..(stripAfter || keepAfter ? end - 1 : end)];
            i = end + 2;
            trimNextLeading = stripAfter;
            trimNextNewline = !stripAfter && !keepAfter && kind is '%' or '#';

            if (kind == '#')
            {
                continue;
            }
            if (kind == '%' && body.Trim() == "raw")
            {
                // {% raw %}…{% endraw %}: the text between is kept verbatim, tags and all.
                Match endRaw = EndRaw().Match(source, i);
                if (!endRaw.Success) throw new ChatTemplateException($"Chat template: '{{% raw %}}' at offset {open} is missing '{{% endraw %}}'.");
                string raw = source[i..endRaw.Index];
                if (stripAfter) raw = raw.TrimStart();
                else if (raw.StartsWith('\n')) raw = raw[1..];
                if (endRaw.Groups[1].Length > 0) raw = raw.TrimEnd();
                text.Append(raw);
                i = endRaw.Index + endRaw.Length;
                trimNextLeading = endRaw.Groups[2].Length > 0;
                trimNextNewline = !trimNextLeading;
                continue;
            }
            FlushText();
            segments.Add(new Segment(kind == '{' ? SegmentKind.Output : SegmentKind.Statement, body.Trim(), open));
        }
        FlushText();
        return segments;
    }

    /// <summary>Python's string-literal escapes after a backslash at <paramref name="i"/>; returns the index after the escape.</summary>
    private static int Unescape(string expression, int i, StringBuilder value, int baseOffset)
    {
        char e = expression[i++];
        int hexDigits = e switch { 'x' => 2, 'u' => 4, 'U' => 8, _ => 0 };
        if (hexDigits > 0)
        {
            if (i + hexDigits > expression.Length || !int.TryParse(expression.AsSpan(i, hexDigits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code)
                || code > 0x10FFFF || (code is >= 0xD800 and <= 0xDFFF && hexDigits == 8))
            {
                throw new ChatTemplateException($"Chat template: invalid \\{e} escape in a string literal at offset {baseOffset + i - 2}.");
            }
            value.Append(code <= 0xFFFF ? ((char)code).ToString() : char.ConvertFromUtf32(code));
            return i + hexDigits;
        }
        if (e is >= '0' and <= '7')
        {
            int code = e - '0', n = 1;
            while (n < 3 && i < expression.Length && expression[i] is >= '0' and <= '7') { code = (code * 8) + (expression[i++] - '0'); n++; }
            value.Append((char)code);
            return i;
        }
        value.Append(e switch
        {
            'n' => "\n",
            't' => "\t",
            'r' => "\r",
            'a' => "\a",
            'b' => "\b",
            'f' => "\f",
            'v' => "\v",
            '\\' => "\\",
            '\'' => "'",
            '"' => "\"",
            '\n' => "",
            _ => "\\" + e, // Python keeps unknown escapes as written
        });
        return i;
    }

    private static int FindClose(string source, int start, string close, bool isComment)
    {
        if (isComment)
        {
            return source.IndexOf(close, start, StringComparison.Ordinal);
        }
        char quote = '\0';
        for (int i = start; i < source.Length - 1; i++)
        {
            char c = source[i];
            if (quote != '\0')
            {
                if (c == '\\') i++;
                else if (c == quote) quote = '\0';
            }
            else if (c is '\'' or '"')
            {
                quote = c;
            }
            else if (c == close[0] && source[i + 1] == close[1])
            {
                return i;
            }
        }
        return -1;
    }

    public static List<Token> Tokenize(string expression, int baseOffset)
    {
        var tokens = new List<Token>();
        int i = 0;
        while (i < expression.Length)
        {
            char c = expression[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }
            int start = i;
            if (char.IsLetter(c) || c == '_')
            {
                while (i < expression.Length && (char.IsLetterOrDigit(expression[i]) || expression[i] == '_')) i++;
                tokens.Add(new Token(TokenKind.Name, expression[start..i], baseOffset + start));
            }
            else if (char.IsDigit(c))
            {
                while (i < expression.Length && char.IsDigit(expression[i])) i++;
                bool isFloat = i + 1 < expression.Length && expression[i] == '.' && char.IsDigit(expression[i + 1]);
                if (isFloat)
                {
                    i++;
                    while (i < expression.Length && char.IsDigit(expression[i])) i++;
                }
                // Python exponent notation: 1e5, 2.5E-3.
                int e = i;
                if (e < expression.Length && expression[e] is 'e' or 'E')
                {
                    e++;
                    if (e < expression.Length && expression[e] is '+' or '-') e++;
                    if (e < expression.Length && char.IsDigit(expression[e]))
                    {
                        while (e < expression.Length && char.IsDigit(expression[e])) e++;
                        i = e;
                        isFloat = true;
                    }
                }
                tokens.Add(new Token(isFloat ? TokenKind.Float : TokenKind.Integer, expression[start..i], baseOffset + start));
            }
            else if (c is '\'' or '"')
            {
                var value = new StringBuilder();
                i++;
                while (true)
                {
                    if (i >= expression.Length)
                    {
                        throw new ChatTemplateException($"Chat template: unterminated string literal at offset {baseOffset + start}.");
                    }
                    char d = expression[i++];
                    if (d == c) break;
                    if (d == '\\' && i < expression.Length)
                    {
                        i = Unescape(expression, i, value, baseOffset);
                    }
                    else
                    {
                        value.Append(d);
                    }
                }
                tokens.Add(new Token(TokenKind.String, value.ToString(), baseOffset + start));
            }
            else
            {
                string two = i + 1 < expression.Length ? expression.Substring(i, 2) : "";
                string op = two is "==" or "!=" or "<=" or ">=" or "//" or "**" ? two : c.ToString();
                if ("+-*/%~|.,:()[]{}=<>!".IndexOf(op[0]) < 0)
                {
                    throw new ChatTemplateException($"Chat template: unexpected character '{c}' at offset {baseOffset + i}.");
                }
                i += op.Length;
                tokens.Add(new Token(TokenKind.Operator, op, baseOffset + start));
            }
        }
        tokens.Add(new Token(TokenKind.End, "", baseOffset + expression.Length));
        return tokens;
    }
}
