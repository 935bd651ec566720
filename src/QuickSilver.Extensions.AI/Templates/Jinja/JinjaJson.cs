using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>
/// Hugging Face's <c>tojson</c>: Python <c>json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)</c>
/// (not Jinja2's HTML-safe tojson): ", " / ": " separators without indent, "," / ": " with it, Python float repr, key order
/// kept. Also converts JSON documents into template values.
/// </summary>
internal static class JinjaJson
{
    public static string Dumps(object? value, object? indent, bool ensureAscii, bool sortKeys, (string Item, string Key)? separators)
    {
        string? indentText = indent switch
        {
            null or JinjaUndefined => null,
            long n when n is >= 0 and <= 16 => new string(' ', (int)n),
            long n => throw new ChatTemplateException($"Chat template: tojson indent {n} is outside 0..16."),
            string s when s.Length <= 16 => s,
            _ => throw new ChatTemplateException($"Chat template: tojson indent must be an integer or a short string, not {JinjaRuntime.TypeName(indent)}."),
        };
        (string item, string key) = separators ?? (indentText is null ? (", ", ": ") : (",", ": "));
        var sb = new StringBuilder();
        Write(value, 0);
        return sb.ToString();

        void Write(object? v, int depth)
        {
            JinjaRuntime.CheckSize(sb.Length);
            switch (v)
            {
                case null: sb.Append("null"); break;
                case JinjaUndefined: throw new ChatTemplateException("Chat template: tojson of an undefined value.");
                case bool b: sb.Append(b ? "true" : "false"); break;
                case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
                case double d: sb.Append(double.IsNaN(d) ? "NaN" : double.IsInfinity(d) ? (d > 0 ? "Infinity" : "-Infinity") : JinjaPrinter.Float(d)); break;
                case string s: WriteString(sb, s, ensureAscii); break;
                case IDictionary<string, object?> map:
                    IEnumerable<KeyValuePair<string, object?>> pairs = sortKeys ? map.OrderBy(kv => kv.Key, StringComparer.Ordinal) : map;
                    WriteItems('{', '}', pairs.Select(kv => (Action)(() => { WriteString(sb, kv.Key, ensureAscii); sb.Append(key); Write(kv.Value, JinjaRuntime.Deeper(depth)); })).ToList(), depth);
                    break;
                case IList list:
                    WriteItems('[', ']', list.Cast<object?>().Select(x => (Action)(() => Write(x, JinjaRuntime.Deeper(depth)))).ToList(), depth);
                    break;
                default: throw new ChatTemplateException($"Chat template: {JinjaRuntime.TypeName(v)} is not JSON serializable.");
            }
        }

        void WriteItems(char open, char close, List<Action> items, int depth)
        {
            sb.Append(open);
            if (items.Count == 0)
            {
                sb.Append(close);
                return;
            }
            for (int i = 0; i < items.Count; i++)
            {
                if (i > 0) sb.Append(item);
                if (indentText is not null) sb.Append('\n').Append(string.Concat(Enumerable.Repeat(indentText, depth + 1)));
                items[i]();
            }
            if (indentText is not null) sb.Append('\n').Append(string.Concat(Enumerable.Repeat(indentText, depth)));
            sb.Append(close);
        }
    }

    private static void WriteString(StringBuilder sb, string s, bool ensureAscii)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || (ensureAscii && c > 0x7f)) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }

    /// <summary>Converts a JSON document (messages, tool schemas, arguments) into template values; integers stay integers.</summary>
    public static object? FromJson(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().Aggregate(new Dictionary<string, object?>(StringComparer.Ordinal), (d, p) => { d[p.Name] = FromJson(p.Value); return d; }),
        JsonValueKind.Array => element.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.TryGetInt64(out long l) ? (object)l : element.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Undefined => JinjaUndefined.Instance,
        _ => null,
    };
}
