using System.Collections;
using System.Globalization;
using System.Text;

namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>Python's <c>str()</c> and <c>repr()</c> of template values, which is what <c>{{ x }}</c> prints.</summary>
internal static class JinjaPrinter
{
    public static string ToText(object? value) => ToText(value, 0);

    private static string ToText(object? value, int depth) => value switch
    {
        null => "None",
        JinjaUndefined => "",
        string s => s,
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => Float(d),
        JinjaNamespace ns => "<Namespace " + Mapping(ns, depth) + ">",
        IDictionary<string, object?> map => Mapping(map, depth),
        IList list => "[" + string.Join(", ", list.Cast<object?>().Select(x => Repr(x, depth))) + "]",
        IJinjaCallable => "<function>",
        _ => value.ToString() ?? "",
    };

    private static string Mapping(IDictionary<string, object?> map, int depth)
        => "{" + string.Join(", ", map.Select(kv => Repr(kv.Key, depth) + ": " + Repr(kv.Value, depth))) + "}";

    /// <summary>Python repr: strings quoted (single quotes unless the text has one and no double quote), containers recursively.</summary>
    public static string Repr(object? value, int depth)
    {
        if (value is not string s) return value is JinjaUndefined ? "Undefined" : ToText(value, JinjaRuntime.Deeper(depth));
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        var sb = new StringBuilder().Append(quote);
        foreach (char c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c == quote) sb.Append('\\').Append(c);
                    else if (c < 0x20 || c == 0x7f) sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append(quote).ToString();
    }

    /// <summary>Python's float repr: shortest round-trip digits, ".0" on integral values, exponent form below 1e-4 and from 1e16.</summary>
    public static string Float(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsPositiveInfinity(d)) return "inf";
        if (double.IsNegativeInfinity(d)) return "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        // "E16" gives the shortest round-trip digits as d.ddd…E+xxx; re-lay them out by Python's rule.
        string r = d.ToString("R", CultureInfo.InvariantCulture);
        string mantissa = r, sign = "";
        int exponent = 0;
        int e = r.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            mantissa = r[..e];
            exponent = int.Parse(r[(e + 1)..], CultureInfo.InvariantCulture);
        }
        if (mantissa.StartsWith('-')) { sign = "-"; mantissa = mantissa[1..]; }
        int dot = mantissa.IndexOf('.');
        string digits = dot < 0 ? mantissa : mantissa[..dot] + mantissa[(dot + 1)..];
        int pointPos = (dot < 0 ? mantissa.Length : dot) + exponent; // decimal point position relative to digits start
        int leading = digits.Length - digits.TrimStart('0').Length;
        digits = digits.Trim('0');
        if (digits.Length == 0) return sign + "0.0";
        pointPos -= leading;
        int decimalExponent = pointPos - 1; // exponent in d.ddd form
        if (decimalExponent < -4 || decimalExponent >= 16)
        {
            string m = digits.Length == 1 ? digits : digits[0] + "." + digits[1..];
            return sign + m + "e" + (decimalExponent < 0 ? "-" : "+") + Math.Abs(decimalExponent).ToString("00", CultureInfo.InvariantCulture);
        }
        if (pointPos <= 0) return sign + "0." + new string('0', -pointPos) + digits;
        if (pointPos >= digits.Length) return sign + digits + new string('0', pointPos - digits.Length) + ".0";
        return sign + digits[..pointPos] + "." + digits[pointPos..];
    }
}
