using System.Collections;

namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>
/// Python value semantics as Jinja2 applies them: truthiness, equality, ordering, arithmetic, item access, slicing and
/// iteration. Values are <c>null</c> (None), <see cref="JinjaUndefined"/>, bool, long, double, string,
/// <see cref="List{T}"/> and <see cref="Dictionary{TKey, TValue}"/> with string keys (insertion order kept, as Python's dict).
/// </summary>
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

    public static string ToText(object? value) => JinjaPrinter.ToText(value);

    /// <summary>Values can contain themselves (a namespace stored in its own attribute), so walks into them are bounded.</summary>
    public static int Deeper(int depth) => depth < ChatTemplateLimits.MaxValueDepth
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

    /// <summary>Python ==; Jinja2's Undefined equals only another Undefined (not None).</summary>
    public static new bool Equals(object? a, object? b) => Equals(a, b, 0);

    private static bool Equals(object? a, object? b, int depth)
    {
        if (a is JinjaUndefined || b is JinjaUndefined) return a is JinjaUndefined && b is JinjaUndefined;
        if (a is null || b is null) return a is null && b is null;
        if (IsNumber(a) && IsNumber(b)) return a is long or bool && b is long or bool ? ToLong(a) == ToLong(b) : ToDouble(a) == ToDouble(b);
        if (a is string sa && b is string sb) return string.Equals(sa, sb, StringComparison.Ordinal);
        if (a is IList la && b is IList lb) return la.Count == lb.Count && Enumerable.Range(0, la.Count).All(i => Equals(la[i], lb[i], Deeper(depth)));
        if (a is IDictionary<string, object?> da && b is IDictionary<string, object?> db)
        {
            return da.Count == db.Count && da.All(kv => db.TryGetValue(kv.Key, out object? v) && Equals(kv.Value, v, Deeper(depth)));
        }
        return ReferenceEquals(a, b) || a.Equals(b);
    }

    /// <summary>Python ordering: numbers with numbers, strings with strings, lists element by element; anything else is a TypeError.</summary>
    public static int Compare(object? a, object? b) => Compare(a, b, 0);

    private static int Compare(object? a, object? b, int depth)
    {
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a).CompareTo(ToDouble(b));
        if (a is string sa && b is string sb) return string.CompareOrdinal(sa, sb);
        if (a is IList la && b is IList lb)
        {
            for (int i = 0; i < Math.Min(la.Count, lb.Count); i++)
            {
                int c = Compare(la[i], lb[i], Deeper(depth));
                if (c != 0) return c;
            }
            return la.Count.CompareTo(lb.Count);
        }
        throw new ChatTemplateException($"Chat template: '<' not supported between {TypeName(a)} and {TypeName(b)}.");
    }

    public static bool IsNumber(object? value) => value is long or double or bool;

    public static double ToDouble(object? value) => value switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new ChatTemplateException($"Chat template: expected a number, got {TypeName(value)}."),
    };

    public static long ToLong(object? value) => value switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        double d when !double.IsNaN(d) && !double.IsInfinity(d) => (long)d,
        _ => throw new ChatTemplateException($"Chat template: expected an integer, got {TypeName(value)}."),
    };

    /// <summary>An integer argument (index, count, indent) that must be integral, as Python requires.</summary>
    public static long ToIndex(object? value) => value switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw new ChatTemplateException($"Chat template: indices must be integers, not {TypeName(value)}."),
    };

    public static string TypeName(object? value) => value switch
    {
        null => "none",
        JinjaUndefined => "undefined",
        string => "string",
        bool => "boolean",
        long => "integer",
        double => "float",
        JinjaNamespace => "namespace",
        IDictionary<string, object?> => "mapping",
        IList => "list",
        IJinjaCallable => "callable",
        _ => value.GetType().Name,
    };

    public static object? Add(object? a, object? b)
    {
        if (a is string sa && b is string sb)
        {
            CheckSize((long)sa.Length + sb.Length);
            return sa + sb;
        }
        if (a is long or bool && b is long or bool) return ToLong(a) + ToLong(b);
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a) + ToDouble(b);
        if (a is IList xa && b is IList xb)
        {
            CheckSize((long)xa.Count + xb.Count);
            return xa.Cast<object?>().Concat(xb.Cast<object?>()).ToList();
        }
        if ((a as JinjaUndefined ?? b as JinjaUndefined) is { } undefined)
        {
            throw new ChatTemplateException($"Chat template: {undefined.Hint}, and an undefined value cannot be used in '+' (use ~ to join text, or check 'is defined').");
        }
        throw new ChatTemplateException($"Chat template: cannot add {TypeName(a)} and {TypeName(b)} (use ~ to join text).");
    }

    public static object? Arithmetic(string op, object? a, object? b)
    {
        if (op == "+") return Add(a, b);
        if (op == "*" && (a is string || b is string || a is IList || b is IList)) return Repeat(a is long or bool ? b : a, a is long or bool ? a : b);
        if (op == "%" && a is string format) return JinjaMethods.PercentFormat(format, b);
        if (a is long or bool && b is long or bool)
        {
            long la = ToLong(a), lb = ToLong(b);
            switch (op)
            {
                case "-": return la - lb;
                case "*": return la * lb;
                case "//": return lb == 0 ? throw new ChatTemplateException("Chat template: integer division by zero.") : FloorDiv(la, lb);
                case "%": return lb == 0 ? throw new ChatTemplateException("Chat template: integer modulo by zero.") : ((la % lb) + lb) % lb;
                case "**" when lb >= 0: return (long)Math.Pow(la, lb);
            }
        }
        double x = ToDouble(a), y = ToDouble(b);
        if (op is "/" or "//" or "%" && y == 0) throw new ChatTemplateException("Chat template: float division by zero.");
        return op switch
        {
            "-" => x - y,
            "*" => x * y,
            "/" => x / y,
            "//" => Math.Floor(x / y),
            "%" => x - (y * Math.Floor(x / y)),
            "**" => Math.Pow(x, y),
            _ => throw new ChatTemplateException($"Chat template: unknown operator '{op}'."),
        };
    }

    private static long FloorDiv(long a, long b) => (a / b) - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);

    private static object Repeat(object? value, object? count)
    {
        long n = Math.Max(0, ToIndex(count));
        switch (value)
        {
            case string s:
                CheckSize(s.Length * Math.Min(n, ChatTemplateLimits.MaxOutputLength + 1L));
                return string.Concat(Enumerable.Repeat(s, (int)n));
            case IList list:
                CheckSize(list.Count * Math.Min(n, ChatTemplateLimits.MaxOutputLength + 1L));
                return Enumerable.Repeat(list.Cast<object?>(), (int)n).SelectMany(x => x).ToList();
            default:
                throw new ChatTemplateException($"Chat template: cannot multiply {TypeName(value)} by {TypeName(count)}.");
        }
    }

    /// <summary>Jinja2's <c>x[key]</c>: item first, then (for string keys) attribute; missing is Undefined; Undefined[key] is an error.</summary>
    public static object? GetItem(object? target, object? key)
    {
        switch (target)
        {
            case IDictionary<string, object?> map when key is string k:
                return map.TryGetValue(k, out object? v) ? v : JinjaUndefined.Member(target, k);
            case IList list when key is long or bool:
                long i = ToLong(key);
                i = i < 0 ? list.Count + i : i;
                return i >= 0 && i < list.Count ? list[(int)i] : new JinjaUndefined($"list index {ToLong(key)} out of range ({list.Count} items)");
            case string s when key is long or bool:
                IReadOnlyList<string> points = CodePoints(s);
                long j = ToLong(key);
                j = j < 0 ? points.Count + j : j;
                return j >= 0 && j < points.Count ? points[(int)j] : JinjaUndefined.Instance;
            case JinjaUndefined undefined:
                throw new ChatTemplateException($"Chat template: {undefined.Hint}, so its item [{JinjaPrinter.Repr(key, 0)}] cannot be read.");
            default:
                return new JinjaUndefined($"{TypeName(target)} has no item {JinjaPrinter.Repr(key, 0)}");
        }
    }

    /// <summary>Jinja2's <c>x.name</c>: attribute first, then item; None.name is Undefined; Undefined.name is an error.</summary>
    public static object? GetAttribute(object? target, string name) => target switch
    {
        JinjaUndefined undefined => throw new ChatTemplateException($"Chat template: {undefined.Hint}, so its attribute '{name}' cannot be read."),
        _ when JinjaMethods.Bound(target, name) is { } method => method,
        IDictionary<string, object?> map => map.TryGetValue(name, out object? v) ? v : JinjaUndefined.Member(target, name),
        _ => JinjaUndefined.Member(target, name),
    };

    public static object? Slice(object? target, object? start, object? stop, object? step)
    {
        IReadOnlyList<string>? points = target is string text ? CodePoints(text) : null;
        int count = target switch
        {
            IList l => l.Count,
            string => points!.Count,
            _ => throw new ChatTemplateException($"Chat template: cannot slice {TypeName(target)}."),
        };
        long st = step is null ? 1 : ToIndex(step);
        if (st == 0) throw new ChatTemplateException("Chat template: slice step cannot be zero.");
        var indices = new List<int>();
        if (st > 0)
        {
            long a = start is null ? 0 : Clamp(ToIndex(start), count), b = stop is null ? count : Clamp(ToIndex(stop), count);
            for (long i = a; i < b; i += st) indices.Add((int)i);
        }
        else
        {
            long a = start is null ? count - 1 : Math.Min(ClampNegative(ToIndex(start), count), count - 1);
            long b = stop is null ? -1 : ClampNegative(ToIndex(stop), count);
            for (long i = a; i > b; i += st) indices.Add((int)i);
        }
        return points is not null ? string.Concat(indices.Select(i => points[i])) : indices.Select(i => ((IList)target!)[i]).ToList();

        static long Clamp(long index, int length) => index < 0 ? Math.Max(0, length + index) : Math.Min(index, length);

        static long ClampNegative(long index, int length) => index < 0 ? Math.Max(-1, length + index) : index;
    }

    public static bool Contains(object? container, object? item) => container switch
    {
        string s when item is string sub => s.Contains(sub, StringComparison.Ordinal),
        string => throw new ChatTemplateException($"Chat template: 'in <string>' requires string as left operand, not {TypeName(item)}."),
        IDictionary<string, object?> map => item is string key && map.ContainsKey(key),
        IList list => list.Cast<object?>().Any(x => Equals(x, item)),
        JinjaUndefined => false,
        null => throw new ChatTemplateException("Chat template: argument of type 'NoneType' is not iterable ('in' on a none value)."),
        _ => throw new ChatTemplateException($"Chat template: 'in' needs a string, list or mapping, not {TypeName(container)}."),
    };

    private static int CountLoneLowSurrogates(string s)
    {
        int lone = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsLowSurrogate(s[i]) && (i == 0 || !char.IsHighSurrogate(s[i - 1]))) lone++;
        }
        return lone;
    }

    public static IEnumerable<object?> Iterate(object? value) => value switch
    {
        IDictionary<string, object?> map => map.Keys,
        IList list => list.Cast<object?>(),
        string s => CodePoints(s),
        JinjaUndefined => [],
        _ => throw new ChatTemplateException($"Chat template: {TypeName(value)} is not iterable."),
    };

    /// <summary>
    /// A string as Python sees it, one item per code point (not per UTF-16 unit), so length, indexing, slicing and
    /// iteration agree with Python on emoji and other characters outside the BMP.
    /// </summary>
    public static IReadOnlyList<string> CodePoints(string s)
    {
        if (!s.Any(char.IsSurrogate)) return s.Select(c => c.ToString()).ToArray();
        var points = new List<string>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            bool pair = char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]);
            points.Add(pair ? s.Substring(i++, 2) : s[i].ToString());
        }
        return points;
    }

    public static long Length(object? value) => value switch
    {
        string s => s.Length - s.Count(char.IsLowSurrogate) + CountLoneLowSurrogates(s),
        ICollection c => c.Count,
        JinjaUndefined => 0,
        _ => throw new ChatTemplateException($"Chat template: {TypeName(value)} has no length."),
    };
}
