using System.Collections;
using System.Globalization;
using System.Net;

namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>A Jinja filter (<c>x | name(args, key=value)</c>).</summary>
internal delegate object? JinjaFilter(object? value, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs);

/// <summary>
/// Jinja2's built-in filters (with Hugging Face's <c>tojson</c>), looked up by name when a template is parsed, so a
/// template using a filter QuickSilver lacks is refused when the model loads rather than on every request.
/// </summary>
internal static class JinjaFilters
{
    private static readonly Dictionary<string, JinjaFilter> Filters = new(StringComparer.Ordinal)
    {
        ["abs"] = (v, _, _) => v is long l ? (object)Math.Abs(l) : Math.Abs(JinjaRuntime.ToDouble(v)),
        ["attr"] = (v, a, k) => JinjaRuntime.GetAttribute(v, Text(Arg(a, k, 0, "name"), "attr")),
        ["capitalize"] = (v, _, _) => JinjaMethods.Capitalize(JinjaRuntime.ToText(v)),
        ["center"] = (v, a, k) => JinjaMethods.Call(JinjaRuntime.ToText(v), "center", [Arg(a, k, 0, "width", 80L)], Empty!),
        ["count"] = (v, _, _) => JinjaRuntime.Length(v),
        ["length"] = (v, _, _) => JinjaRuntime.Length(v),
        ["default"] = Default,
        ["d"] = Default,
        ["dictsort"] = DictSort,
        ["escape"] = (v, _, _) => WebUtility.HtmlEncode(JinjaRuntime.ToText(v)),
        ["e"] = (v, _, _) => WebUtility.HtmlEncode(JinjaRuntime.ToText(v)),
        ["first"] = (v, _, _) => JinjaRuntime.Iterate(v).Cast<object?>().DefaultIfEmpty(JinjaUndefined.Instance).First(),
        ["last"] = (v, _, _) => JinjaRuntime.Iterate(v).Cast<object?>().DefaultIfEmpty(JinjaUndefined.Instance).Last(),
        ["float"] = (v, a, k) => ToFloat(v, Arg(a, k, 0, "default", 0.0)),
        ["int"] = (v, a, k) => ToInt(v, Arg(a, k, 0, "default", 0L)),
        ["format"] = (v, a, _) => JinjaMethods.PercentFormat(JinjaRuntime.ToText(v), a.ToList()),
        ["indent"] = Indent,
        ["items"] = (v, _, _) => v is JinjaUndefined ? new List<object?>()
            : v is IDictionary<string, object?> map ? map.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList()
            : throw new ChatTemplateException($"Chat template: filter 'items' needs a mapping, not {JinjaRuntime.TypeName(v)}."),
        ["join"] = (v, a, k) => JinjaMethods.Join(JinjaRuntime.ToText(Arg(a, k, 0, "d", "")),
            Attribute(JinjaRuntime.Iterate(v), Arg(a, k, 1, "attribute", null)).Select(JinjaRuntime.ToText).ToList()),
        ["list"] = (v, _, _) => JinjaRuntime.Iterate(v).ToList(),
        ["lower"] = (v, _, _) => JinjaRuntime.ToText(v).ToLowerInvariant(),
        ["upper"] = (v, _, _) => JinjaRuntime.ToText(v).ToUpperInvariant(),
        ["title"] = (v, _, _) => JinjaMethods.Title(JinjaRuntime.ToText(v)),
        ["trim"] = (v, a, k) => Arg(a, k, 0, "chars", null) is string chars ? JinjaRuntime.ToText(v).Trim(chars.ToCharArray()) : JinjaRuntime.ToText(v).Trim(),
        ["string"] = (v, _, _) => JinjaRuntime.ToText(v),
        ["safe"] = (v, _, _) => v,
        ["map"] = Map,
        ["select"] = (v, a, _) => Select(v, a, keep: true, byAttribute: false),
        ["reject"] = (v, a, _) => Select(v, a, keep: false, byAttribute: false),
        ["selectattr"] = (v, a, _) => Select(v, a, keep: true, byAttribute: true),
        ["rejectattr"] = (v, a, _) => Select(v, a, keep: false, byAttribute: true),
        ["max"] = (v, a, k) => MinMax(v, a, k, max: true),
        ["min"] = (v, a, k) => MinMax(v, a, k, max: false),
        ["replace"] = (v, a, k) => JinjaMethods.Replace(JinjaRuntime.ToText(v), Text(Arg(a, k, 0, "old"), "replace"), Text(Arg(a, k, 1, "new"), "replace"),
            Arg(a, k, 2, "count", null) is { } n ? JinjaRuntime.ToIndex(n) : -1),
        ["reverse"] = (v, _, _) => v is string r ? string.Concat(JinjaRuntime.CodePoints(r).Reverse()) : JinjaRuntime.Iterate(v).Reverse().ToList(),
        ["round"] = Round,
        ["sort"] = (v, a, k) => Sort(JinjaRuntime.Iterate(v), JinjaRuntime.IsTrue(Arg(a, k, 0, "reverse", false)),
            JinjaRuntime.IsTrue(Arg(a, k, 1, "case_sensitive", false)), Arg(a, k, 2, "attribute", null)),
        ["sum"] = (v, a, k) => Attribute(JinjaRuntime.Iterate(v), Arg(a, k, 0, "attribute", null)).Aggregate(Arg(a, k, 1, "start", 0L), JinjaRuntime.Add),
        ["tojson"] = (v, a, k) => JinjaJson.Dumps(v, Arg(a, k, 0, "indent", null), JinjaRuntime.IsTrue(Arg(a, k, 1, "ensure_ascii", false)),
            JinjaRuntime.IsTrue(Arg(a, k, 3, "sort_keys", false)), Separators(Arg(a, k, 2, "separators", null))),
        ["unique"] = (v, a, k) => Unique(JinjaRuntime.Iterate(v), JinjaRuntime.IsTrue(Arg(a, k, 0, "case_sensitive", false)), Arg(a, k, 1, "attribute", null)),
        ["wordcount"] = (v, _, _) => (long)JinjaRuntime.ToText(v).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length,
        ["batch"] = Batch,
    };

    private static readonly IReadOnlyDictionary<string, object?> Empty = new Dictionary<string, object?>();

    public static bool Exists(string name) => Filters.ContainsKey(name);

    /// <summary>The filter called <paramref name="name"/>.</summary>
    /// <exception cref="ChatTemplateException">Jinja2 has no such filter, or QuickSilver does not support it.</exception>
    public static JinjaFilter Get(string name) => Filters.TryGetValue(name, out JinjaFilter? filter)
        ? filter
        : throw new ChatTemplateException($"Chat template: unsupported filter '{name}'.");

    private static object? Arg(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs, int index, string name)
        => index < args.Count ? args[index] : kwargs.TryGetValue(name, out object? v) ? v
            : throw new ChatTemplateException($"Chat template: a filter is missing its argument '{name}'.");

    private static object? Arg(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs, int index, string name, object? fallback)
        => index < args.Count ? args[index] : kwargs.TryGetValue(name, out object? v) ? v : fallback;

    private static string Text(object? value, string filter) => value as string
        ?? throw new ChatTemplateException($"Chat template: filter '{filter}' needs a string argument, not {JinjaRuntime.TypeName(value)}.");

    private static object? Default(object? v, IReadOnlyList<object?> a, IReadOnlyDictionary<string, object?> k)
    {
        bool boolean = JinjaRuntime.IsTrue(Arg(a, k, 1, "boolean", false));
        return v is JinjaUndefined || (boolean && !JinjaRuntime.IsTrue(v)) ? Arg(a, k, 0, "default_value", "") : v;
    }

    private static object ToFloat(object? v, object? fallback) => v switch
    {
        double d => d,
        long or bool => JinjaRuntime.ToDouble(v),
        string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
        _ => fallback ?? 0.0,
    };

    private static object ToInt(object? v, object? fallback) => v switch
    {
        long l => l,
        bool b => b ? 1L : 0L,
        double d when !double.IsNaN(d) && !double.IsInfinity(d) => (long)Math.Truncate(d),
        string s when long.TryParse(s.Trim().Replace("_", "", StringComparison.Ordinal), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l) => l,
        string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && !double.IsInfinity(d) => (long)Math.Truncate(d),
        _ => fallback ?? 0L,
    };

    private static (string, string)? Separators(object? value) => value switch
    {
        null => null,
        IList { Count: 2 } pair when pair[0] is string a && pair[1] is string b => (a, b),
        _ => throw new ChatTemplateException("Chat template: tojson separators must be a pair of strings."),
    };

    private static object? Indent(object? v, IReadOnlyList<object?> a, IReadOnlyDictionary<string, object?> k)
    {
        object? width = Arg(a, k, 0, "width", 4L);
        string indent = width is string w ? w : new string(' ', (int)Math.Clamp(JinjaRuntime.ToIndex(width), 0, 64));
        bool first = JinjaRuntime.IsTrue(Arg(a, k, 1, "first", false)), blank = JinjaRuntime.IsTrue(Arg(a, k, 2, "blank", false));
        // Jinja2 appends "\n" before splitlines, so a trailing newline survives as a final empty line.
        List<string> lines = [.. (JinjaRuntime.ToText(v) + "\n").Split('\n')];
        lines.RemoveAt(lines.Count - 1);
        string result = lines[0] + string.Concat(lines.Skip(1).Select(line => "\n" + (blank || line.Length > 0 ? indent + line : line)));
        JinjaRuntime.CheckSize(result.Length);
        return first ? indent + result : result;
    }

    private static object? Round(object? v, IReadOnlyList<object?> a, IReadOnlyDictionary<string, object?> k)
    {
        int precision = (int)Math.Clamp(JinjaRuntime.ToIndex(Arg(a, k, 0, "precision", 0L)), -15, 15);
        string method = Text(Arg(a, k, 1, "method", "common"), "round");
        double x = JinjaRuntime.ToDouble(v), scale = Math.Pow(10, precision);
        return method switch
        {
            // Python's round() rounds half to even; Jinja2's "common" calls it.
            "common" => v is long l && precision >= 0 ? (object)l : Math.Round(x * scale, MidpointRounding.ToEven) / scale,
            "floor" => Math.Floor(x * scale) / scale,
            "ceil" => Math.Ceiling(x * scale) / scale,
            _ => throw new ChatTemplateException($"Chat template: round method must be common, floor or ceil, not '{method}'."),
        };
    }

    private static IEnumerable<object?> Attribute(IEnumerable<object?> items, object? attribute) => attribute is null
        ? items
        : items.Select(x => Lookup(x, attribute));

    /// <summary>Jinja2's attribute paths: "a.b" walks mappings, "0" indexes lists.</summary>
    private static object? Lookup(object? item, object? attribute)
    {
        if (attribute is long index) return JinjaRuntime.GetItem(item, index);
        foreach (string part in JinjaRuntime.ToText(attribute).Split('.'))
        {
            item = long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out long i) && item is IList ? JinjaRuntime.GetItem(item, i) : JinjaRuntime.GetItem(item, part);
        }
        return item;
    }

    private static object? Map(object? v, IReadOnlyList<object?> a, IReadOnlyDictionary<string, object?> k)
    {
        IEnumerable<object?> items = JinjaRuntime.Iterate(v);
        if (a.Count == 0 && k.TryGetValue("attribute", out object? attribute))
        {
            bool hasDefault = k.TryGetValue("default", out object? fallback);
            return items.Select(x => Lookup(x, attribute) is var r && r is JinjaUndefined && hasDefault ? fallback : r).ToList();
        }
        JinjaFilter filter = Get(Text(a.Count > 0 ? a[0] : null, "map"));
        var rest = a.Skip(1).ToList();
        return items.Select(x => filter(x, rest, k)).ToList();
    }

    private static object? Select(object? v, IReadOnlyList<object?> a, bool keep, bool byAttribute)
    {
        IEnumerable<object?> items = JinjaRuntime.Iterate(v);
        int at = 0;
        object? attribute = byAttribute ? (a.Count > 0 ? a[at++] : throw new ChatTemplateException("Chat template: selectattr/rejectattr need an attribute name.")) : null;
        JinjaTest test = at < a.Count ? JinjaTests.Get(Text(a[at++], "select")) : (x, _) => JinjaRuntime.IsTrue(x);
        var rest = a.Skip(at).ToList();
        return items.Where(x => test(byAttribute ? Lookup(x, attribute) : x, rest) == keep).ToList();
    }

    private static object? Key(object? x, bool caseSensitive, object? attribute)
    {
        object? key = attribute is null ? x : Lookup(x, attribute);
        return !caseSensitive && key is string s ? s.ToLowerInvariant() : key;
    }

    private static List<object?> Sort(IEnumerable<object?> items, bool reverse, bool caseSensitive, object? attribute)
    {
        var list = items.ToList();
        var keyed = list.Select((x, i) => (Item: x, Key: Key(x, caseSensitive, attribute), Index: i)).ToList();
        keyed.Sort((p, q) => { int c = JinjaRuntime.Compare(p.Key, q.Key); return c != 0 ? (reverse ? -c : c) : p.Index.CompareTo(q.Index); });
        return keyed.Select(p => p.Item).ToList();
    }

    private static object? MinMax(object? v, IReadOnlyList<object?> a, IReadOnlyDictionary<string, object?> k, bool max)
    {
        List<object?> sorted = Sort(JinjaRuntime.Iterate(v), reverse: max, JinjaRuntime.IsTrue(Arg(a, k, 0, "case_sensitive", false)), Arg(a, k, 1, "attribute", null));
        return sorted.Count > 0 ? sorted[0] : JinjaUndefined.Instance;
    }

    private static List<object?> Unique(IEnumerable<object?> items, bool caseSensitive, object? attribute)
    {
        var seen = new List<object?>();
        var result = new List<object?>();
        foreach (object? x in items)
        {
            object? key = Key(x, caseSensitive, attribute);
            if (seen.Any(s => JinjaRuntime.Equals(s, key))) continue;
            seen.Add(key);
            result.Add(x);
        }
        return result;
    }

    private static object? DictSort(object? v, IReadOnlyList<object?> a, IReadOnlyDictionary<string, object?> k)
    {
        if (v is not IDictionary<string, object?> map) throw new ChatTemplateException($"Chat template: dictsort needs a mapping, not {JinjaRuntime.TypeName(v)}.");
        bool caseSensitive = JinjaRuntime.IsTrue(Arg(a, k, 0, "case_sensitive", false));
        int by = Arg(a, k, 1, "by", "key") is "value" ? 1 : 0;
        bool reverse = JinjaRuntime.IsTrue(Arg(a, k, 2, "reverse", false));
        var pairs = map.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList();
        return Sort(pairs, reverse, caseSensitive, (long)by);
    }

    private static object? Batch(object? v, IReadOnlyList<object?> a, IReadOnlyDictionary<string, object?> k)
    {
        long size = JinjaRuntime.ToIndex(Arg(a, k, 0, "linecount"));
        if (size <= 0) throw new ChatTemplateException("Chat template: batch size must be positive.");
        bool fill = a.Count > 1 || k.ContainsKey("fill_with");
        object? filler = Arg(a, k, 1, "fill_with", null);
        var result = new List<object?>();
        foreach (object?[] chunk in JinjaRuntime.Iterate(v).Chunk((int)Math.Min(size, int.MaxValue)))
        {
            var row = chunk.ToList();
            while (fill && row.Count < size) row.Add(filler);
            result.Add(row);
        }
        return result;
    }
}
