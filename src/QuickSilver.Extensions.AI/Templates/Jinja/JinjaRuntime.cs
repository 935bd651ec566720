using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>Python-flavoured value semantics for the Jinja subset: truthiness, printing, comparison, arithmetic, filters and methods.</summary>
internal static class JinjaRuntime
{
    public static bool IsTrue(object? value) => value switch
    {
        null or JinjaUndefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        ICollection c => c.Count > 0,
        _ => true,
    };

    public static string ToText(object? value) => ToText(value, 0);

    private static string ToText(object? value, int depth) => value switch
    {
        null => "None",
        JinjaUndefined => "",
        string s => s,
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => PythonFloat(d),
        IDictionary<string, object?> map => "{" + string.Join(", ", map.Select(kv => Repr(kv.Key, depth) + ": " + Repr(kv.Value, depth))) + "}",
        IList list => "[" + string.Join(", ", list.Cast<object?>().Select(x => Repr(x, depth))) + "]",
        _ => value.ToString() ?? "",
    };

    private static string Repr(object? value, int depth)
        => value is string s ? "'" + s.Replace("\\", "\\\\").Replace("'", "\\'") + "'" : ToText(value, Deeper(depth));

    /// <summary>Values can contain themselves (a namespace stored in its own attribute), so walks into them are bounded.</summary>
    private static int Deeper(int depth) => depth < ChatTemplateLimits.MaxValueDepth
        ? depth + 1
        : throw new ChatTemplateException($"Chat template: a value is nested deeper than {ChatTemplateLimits.MaxValueDepth} levels (or contains itself).");

    /// <summary>Strings and lists built by expressions are bounded like the output, so doubling in a loop cannot exhaust memory.</summary>
    public static void CheckSize(long size)
    {
        if (size > ChatTemplateLimits.MaxOutputLength)
        {
            throw new ChatTemplateException($"Chat template: a value of {size} characters or items exceeds the limit of {ChatTemplateLimits.MaxOutputLength}.");
        }
    }

    private static string PythonFloat(double d)
    {
        string text = d.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.') || text.Contains('E') || text.Contains("Infinity") || text.Contains("NaN") ? text : text + ".0";
    }

    public static new bool Equals(object? a, object? b) => Equals(a, b, 0);

    private static bool Equals(object? a, object? b, int depth)
    {
        if (a is JinjaUndefined) a = null;
        if (b is JinjaUndefined) b = null;
        if (a is null || b is null) return a is null && b is null;
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a) == ToDouble(b);
        if (a is string sa && b is string sb) return string.Equals(sa, sb, StringComparison.Ordinal);
        if (a is IList la && b is IList lb) return la.Count == lb.Count && Enumerable.Range(0, la.Count).All(i => Equals(la[i], lb[i], Deeper(depth)));
        return a.Equals(b);
    }

    public static int Compare(object? a, object? b)
    {
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a).CompareTo(ToDouble(b));
        if (a is string sa && b is string sb) return string.CompareOrdinal(sa, sb);
        throw new ChatTemplateException($"Chat template: cannot compare {TypeName(a)} with {TypeName(b)}.");
    }

    public static bool IsNumber(object? value) => value is long or double or bool;

    public static double ToDouble(object? value) => value switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new ChatTemplateException($"Chat template: expected a number, got {TypeName(value)}."),
    };

    public static string TypeName(object? value) => value switch
    {
        null => "none",
        JinjaUndefined => "undefined",
        string => "string",
        bool => "boolean",
        long => "integer",
        double => "float",
        IDictionary<string, object?> => "mapping",
        IList => "list",
        _ => value.GetType().Name,
    };

    public static object? Add(object? a, object? b)
    {
        if (a is string sa && b is string sb)
        {
            CheckSize((long)sa.Length + sb.Length);
            return sa + sb;
        }
        if (a is long la && b is long lb) return la + lb;
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a) + ToDouble(b);
        if (a is IList xa && b is IList xb)
        {
            CheckSize((long)xa.Count + xb.Count);
            return xa.Cast<object?>().Concat(xb.Cast<object?>()).ToList();
        }
        throw new ChatTemplateException($"Chat template: cannot add {TypeName(a)} and {TypeName(b)} (use ~ to join text).");
    }

    public static object? Arithmetic(string op, object? a, object? b)
    {
        if (op == "+") return Add(a, b);
        if (op == "*" && a is string s && b is long n)
        {
            CheckSize(s.Length * Math.Clamp(n, 0, ChatTemplateLimits.MaxOutputLength + 1L));
            return string.Concat(Enumerable.Repeat(s, (int)Math.Max(0, n)));
        }
        if (a is long la && b is long lb)
        {
            switch (op)
            {
                case "-": return la - lb;
                case "*": return la * lb;
                case "//": return lb == 0 ? throw new ChatTemplateException("Chat template: division by zero.") : (long)Math.Floor((double)la / lb);
                case "%": return lb == 0 ? throw new ChatTemplateException("Chat template: modulo by zero.") : ((la % lb) + lb) % lb;
            }
        }
        double x = ToDouble(a), y = ToDouble(b);
        return op switch
        {
            "-" => x - y,
            "*" => x * y,
            "/" => x / y,
            "//" => Math.Floor(x / y),
            "%" => x - y * Math.Floor(x / y),
            "**" => Math.Pow(x, y),
            _ => throw new ChatTemplateException($"Chat template: unknown operator '{op}'."),
        };
    }

    public static object? GetItem(object? target, object? key)
    {
        switch (target)
        {
            case IDictionary<string, object?> map when key is string k:
                return map.TryGetValue(k, out object? v) ? v : JinjaUndefined.Instance;
            case IList list when key is long index:
                long i = index < 0 ? list.Count + index : index;
                return i >= 0 && i < list.Count ? list[(int)i] : JinjaUndefined.Instance;
            case string s when key is long index:
                long j = index < 0 ? s.Length + index : index;
                return j >= 0 && j < s.Length ? s[(int)j].ToString() : JinjaUndefined.Instance;
            case null or JinjaUndefined:
                throw new ChatTemplateException($"Chat template: cannot read '{ToText(key)}' of an undefined value.");
            default:
                return JinjaUndefined.Instance;
        }
    }

    public static object? Slice(object? target, long? start, long? stop, long? step)
    {
        int count = target switch { IList l => l.Count, string s => s.Length, _ => throw new ChatTemplateException($"Chat template: cannot slice {TypeName(target)}.") };
        long st = step ?? 1;
        if (st == 0) throw new ChatTemplateException("Chat template: slice step cannot be zero.");
        var indices = new List<int>();
        if (st > 0)
        {
            long a = Clamp(start ?? 0, count), b = Clamp(stop ?? count, count);
            for (long i = a; i < b; i += st) indices.Add((int)i);
        }
        else
        {
            long a = start is null ? count - 1 : Math.Min(Clamp(start.Value, count), count - 1);
            long b = stop is null ? -1 : Clamp(stop.Value, count);
            for (long i = a; i > b; i += st) indices.Add((int)i);
        }
        return target is string str ? string.Concat(indices.Select(i => str[i])) : indices.Select(i => ((IList)target!)[i]).ToList();

        static long Clamp(long index, int length) => index < 0 ? Math.Max(0, length + index) : Math.Min(index, length);
    }

    public static bool Contains(object? container, object? item) => container switch
    {
        string s when item is string sub => s.Contains(sub, StringComparison.Ordinal),
        IDictionary<string, object?> map when item is string key => map.ContainsKey(key),
        IList list => list.Cast<object?>().Any(x => Equals(x, item)),
        _ => throw new ChatTemplateException($"Chat template: 'in' needs a string, list or mapping, not {TypeName(container)}."),
    };

    public static IEnumerable<object?> Iterate(object? value) => value switch
    {
        IDictionary<string, object?> map => map.Keys,
        IList list => list.Cast<object?>(),
        string s => s.Select(c => (object?)c.ToString()),
        null or JinjaUndefined => [],
        _ => throw new ChatTemplateException($"Chat template: cannot loop over {TypeName(value)}."),
    };

    public static object? Filter(string name, object? value, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs) => name switch
    {
        "trim" => ToText(value).Trim(),
        "upper" => ToText(value).ToUpperInvariant(),
        "lower" => ToText(value).ToLowerInvariant(),
        "capitalize" => Capitalize(ToText(value)),
        "title" => CultureInfo.InvariantCulture.TextInfo.ToTitleCase(ToText(value).ToLowerInvariant()),
        "string" => ToText(value),
        "int" => value is string s ? (long.TryParse(s.Trim(), CultureInfo.InvariantCulture, out long l) ? l : 0L) : (long)ToDouble(value),
        "float" => value is string t ? (double.TryParse(t.Trim(), CultureInfo.InvariantCulture, out double d) ? d : 0d) : ToDouble(value),
        "length" or "count" => (long)(value switch { string s => s.Length, ICollection c => c.Count, _ => 0 }),
        "first" => Iterate(value).FirstOrDefault(),
        "last" => Iterate(value).LastOrDefault(),
        "list" => Iterate(value).ToList(),
        "reverse" => value is string r ? new string(r.Reverse().ToArray()) : Iterate(value).Reverse().ToList(),
        "join" => Join(args.Count > 0 ? ToText(args[0]) : "", Iterate(value).Select(x => ToText(x)).ToList()),
        "replace" => Replace(ToText(value), ToText(args[0]), ToText(args[1])),
        "default" or "d" => value is JinjaUndefined || (args.Count > 1 && IsTrue(args[1]) && !IsTrue(value)) ? (args.Count > 0 ? args[0] : "") : value,
        "tojson" => ToJson(value, kwargs.TryGetValue("indent", out object? indent) && indent is long n ? (int)n : args.Count > 0 && args[0] is long m ? (int)m : null),
        "items" => value is IDictionary<string, object?> map ? map.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList() : throw new ChatTemplateException("Chat template: 'items' needs a mapping."),
        _ => throw new ChatTemplateException($"Chat template: unsupported filter '{name}'."),
    };

    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    public static bool Test(string name, object? value, IReadOnlyList<object?> args) => name switch
    {
        "defined" => value is not JinjaUndefined,
        "undefined" => value is JinjaUndefined,
        "none" => value is null,
        "string" => value is string,
        "number" => value is long or double,
        "integer" => value is long,
        "float" => value is double,
        "boolean" => value is bool,
        "mapping" => value is IDictionary<string, object?>,
        "sequence" or "iterable" => value is IList or string or IDictionary<string, object?>,
        "true" => value is true,
        "false" => value is false,
        "even" => value is long e && e % 2 == 0,
        "odd" => value is long o && o % 2 != 0,
        "equalto" or "eq" or "sameas" => Equals(value, args.Count > 0 ? args[0] : null),
        _ => throw new ChatTemplateException($"Chat template: unsupported test '{name}'."),
    };

    public static object? CallMethod(object? target, string name, IReadOnlyList<object?> args)
    {
        switch (target)
        {
            case string s:
                string? chars = args.Count > 0 && args[0] is string c ? c : null;
                return name switch
                {
                    "strip" => chars is null ? s.Trim() : s.Trim(chars.ToCharArray()),
                    "lstrip" => chars is null ? s.TrimStart() : s.TrimStart(chars.ToCharArray()),
                    "rstrip" => chars is null ? s.TrimEnd() : s.TrimEnd(chars.ToCharArray()),
                    "upper" => s.ToUpperInvariant(),
                    "lower" => s.ToLowerInvariant(),
                    "title" => CultureInfo.InvariantCulture.TextInfo.ToTitleCase(s.ToLowerInvariant()),
                    "capitalize" => Capitalize(s),
                    "startswith" => s.StartsWith(ToText(args[0]), StringComparison.Ordinal),
                    "endswith" => s.EndsWith(ToText(args[0]), StringComparison.Ordinal),
                    "replace" => Replace(s, ToText(args[0]), ToText(args[1])),
                    "split" => (args.Count > 0 && args[0] is string sep ? s.Split(sep) : s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).Select(x => (object?)x).ToList(),
                    "format" => FormatPercent(s, args),
                    _ => throw new ChatTemplateException($"Chat template: unsupported string method '{name}'."),
                };
            case IDictionary<string, object?> map:
                return name switch
                {
                    "get" => map.TryGetValue(ToText(args[0]), out object? v) ? v : args.Count > 1 ? args[1] : null,
                    "items" => map.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList(),
                    "keys" => map.Keys.Select(k => (object?)k).ToList(),
                    "values" => map.Values.ToList(),
                    _ => throw new ChatTemplateException($"Chat template: unsupported mapping method '{name}'."),
                };
            default:
                throw new ChatTemplateException($"Chat template: {TypeName(target)} has no method '{name}'.");
        }
    }

    private static string FormatPercent(string s, IReadOnlyList<object?> args)
    {
        var sb = new StringBuilder();
        int next = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '{' && i + 1 < s.Length && s[i + 1] == '}' && next < args.Count)
            {
                sb.Append(ToText(args[next++]));
                i++;
            }
            else
            {
                sb.Append(s[i]);
            }
        }
        return sb.ToString();
    }

    private static string Join(string separator, List<string> parts)
    {
        CheckSize(parts.Sum(p => (long)p.Length) + ((long)separator.Length * Math.Max(0, parts.Count - 1)));
        return string.Join(separator, parts);
    }

    private static string Replace(string text, string oldValue, string newValue)
    {
        if (oldValue.Length == 0) throw new ChatTemplateException("Chat template: replace() needs a non-empty string to find.");
        long worst = text.Length + ((long)(text.Length / oldValue.Length) * Math.Max(0, newValue.Length - oldValue.Length));
        CheckSize(worst);
        return text.Replace(oldValue, newValue, StringComparison.Ordinal);
    }

    /// <summary>Python's json.dumps(ensure_ascii=False) layout, which Hugging Face's tojson uses: ", " and ": " separators.</summary>
    public static string ToJson(object? value, int? indent)
    {
        if (indent is < 0 or > 16) throw new ChatTemplateException($"Chat template: tojson indent {indent} is outside 0..16.");
        var sb = new StringBuilder();
        Write(value, 0);
        return sb.ToString();

        void Write(object? v, int depth)
        {
            CheckSize(sb.Length);
            switch (v)
            {
                case null or JinjaUndefined: sb.Append("null"); break;
                case bool b: sb.Append(b ? "true" : "false"); break;
                case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
                case double d: sb.Append(PythonFloat(d)); break;
                case string s: sb.Append(JsonString(s)); break;
                case IDictionary<string, object?> map:
                    WriteItems('{', '}', map.Select(kv => (Action)(() => { sb.Append(JsonString(kv.Key)).Append(": "); Write(kv.Value, Deeper(depth)); })).ToList(), depth);
                    break;
                case IList list:
                    WriteItems('[', ']', list.Cast<object?>().Select(x => (Action)(() => Write(x, Deeper(depth)))).ToList(), depth);
                    break;
                default: sb.Append(JsonString(v.ToString() ?? "")); break;
            }
        }

        void WriteItems(char open, char close, List<Action> items, int depth)
        {
            sb.Append(open);
            for (int i = 0; i < items.Count; i++)
            {
                if (i > 0) sb.Append(indent is null ? ", " : ",");
                if (indent is not null) sb.Append('\n').Append(' ', indent.Value * (depth + 1));
                items[i]();
            }
            if (indent is not null && items.Count > 0) sb.Append('\n').Append(' ', indent.Value * depth);
            sb.Append(close);
        }
    }

    private static string JsonString(string s)
    {
        var sb = new StringBuilder("\"");
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
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>Converts a JSON document (tool schemas) into template values.</summary>
    public static object? FromJson(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().ToDictionary(p => p.Name, p => FromJson(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.TryGetInt64(out long l) ? l : element.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };
}
