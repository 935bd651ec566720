using System.Collections;
using System.Globalization;
using System.Text;

namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>
/// The Python methods templates call on values: <c>str</c> (strip, split, startswith, replace, …), <c>dict</c>
/// (get, items, keys, values) and <c>list</c> (index, count). Mutating methods (append, pop, update) are refused, as
/// transformers' immutable sandbox refuses them.
/// </summary>
internal static class JinjaMethods
{
    private static readonly HashSet<string> MappingMethods = ["get", "items", "keys", "values"];

    private static readonly HashSet<string> ListMethods = ["index", "count"];

    private static readonly HashSet<string> StringMethods =
    [
        "strip", "lstrip", "rstrip", "upper", "lower", "title", "capitalize", "swapcase", "startswith", "endswith",
        "removeprefix", "removesuffix", "replace", "split", "rsplit", "splitlines", "join", "find", "rfind", "index",
        "count", "isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper", "zfill", "center", "format",
    ];

    /// <summary>
    /// <c>x.name</c> without a call, when Python's getattr finds a method first: the bound method (so <c>d.items</c> is a
    /// truthy callable even when the mapping has an "items" key, exactly as in Jinja2); null when there is none.
    /// </summary>
    public static IJinjaCallable? Bound(object? target, string name)
    {
        bool known = target switch
        {
            string => StringMethods.Contains(name),
            JinjaNamespace => false,
            IDictionary<string, object?> => MappingMethods.Contains(name),
            IList => ListMethods.Contains(name),
            _ => false,
        };
        return known ? new JinjaFunction(name, (args, kwargs) => Call(target, name, args, kwargs)) : null;
    }

    /// <summary>Whether <c>target.name(...)</c> is a method call rather than a call of the item called <paramref name="name"/>; Python looks up attributes first.</summary>
    public static bool IsMethod(object? target, string name) => target switch
    {
        string => true,
        JinjaNamespace => false,
        IDictionary<string, object?> map => MappingMethods.Contains(name) || !map.ContainsKey(name),
        IList => true,
        _ => false,
    };

    public static object? Call(object? target, string name, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs)
    {
        object? Arg(int i, string keyword, object? fallback) => i < args.Count ? args[i] : kwargs.TryGetValue(keyword, out object? v) ? v : fallback;
        switch (target)
        {
            case string s:
                return String(s, name, Arg);
            case IDictionary<string, object?> map:
                return name switch
                {
                    "get" => map.TryGetValue(Text(Arg(0, "key", null), name), out object? v) ? v : Arg(1, "default", null),
                    "items" => map.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList(),
                    "keys" => map.Keys.Select(k => (object?)k).ToList(),
                    "values" => map.Values.ToList(),
                    _ => throw Unsupported("mapping", name),
                };
            case IList list:
                return name switch
                {
                    "index" => (long)IndexOf(list, Arg(0, "value", null)),
                    "count" => (long)list.Cast<object?>().Count(x => JinjaRuntime.Equals(x, Arg(0, "value", null))),
                    _ => throw Unsupported("list", name),
                };
            case JinjaUndefined undefined:
                throw new ChatTemplateException($"Chat template: {undefined.Hint}, so its method '{name}' cannot be called.");
            default:
                throw new ChatTemplateException($"Chat template: {JinjaRuntime.TypeName(target)} has no method '{name}'.");
        }
    }

    private static int IndexOf(IList list, object? value)
    {
        for (int i = 0; i < list.Count; i++)
        {
            if (JinjaRuntime.Equals(list[i], value)) return i;
        }
        throw new ChatTemplateException($"Chat template: {JinjaPrinter.Repr(value, 0)} is not in list.");
    }

    private static ChatTemplateException Unsupported(string type, string name)
        => new($"Chat template: unsupported {type} method '{name}' (mutating methods are refused, as in transformers' sandbox).");

    private static string Text(object? value, string method) => value as string
        ?? throw new ChatTemplateException($"Chat template: {method}() needs a string argument, not {JinjaRuntime.TypeName(value)}.");

    private static object? String(string s, string name, Func<int, string, object?, object?> arg)
    {
        string? Chars() => arg(0, "chars", null) is { } c ? Text(c, name) : null;
        switch (name)
        {
            case "strip": return Chars() is { } c1 ? s.Trim(c1.ToCharArray()) : s.Trim();
            case "lstrip": return Chars() is { } c2 ? s.TrimStart(c2.ToCharArray()) : s.TrimStart();
            case "rstrip": return Chars() is { } c3 ? s.TrimEnd(c3.ToCharArray()) : s.TrimEnd();
            case "upper": return s.ToUpperInvariant();
            case "lower": return s.ToLowerInvariant();
            case "title": return Title(s);
            case "capitalize": return Capitalize(s);
            case "swapcase": return string.Concat(s.Select(ch => char.IsUpper(ch) ? char.ToLowerInvariant(ch) : char.ToUpperInvariant(ch)));
            case "startswith": return Affixes(arg(0, "prefix", null), name).Any(p => s.StartsWith(p, StringComparison.Ordinal));
            case "endswith": return Affixes(arg(0, "suffix", null), name).Any(p => s.EndsWith(p, StringComparison.Ordinal));
            case "removeprefix": { string p = Text(arg(0, "prefix", null), name); return s.StartsWith(p, StringComparison.Ordinal) ? s[p.Length..] : s; }
            case "removesuffix": { string p = Text(arg(0, "suffix", null), name); return p.Length > 0 && s.EndsWith(p, StringComparison.Ordinal) ? s[..^p.Length] : s; }
            case "replace": return Replace(s, Text(arg(0, "old", null), name), Text(arg(1, "new", null), name), arg(2, "count", null) is { } n ? JinjaRuntime.ToIndex(n) : -1);
            case "split": return Split(s, arg(0, "sep", null), arg(1, "maxsplit", null) is { } m ? JinjaRuntime.ToIndex(m) : -1, fromRight: false);
            case "rsplit": return Split(s, arg(0, "sep", null), arg(1, "maxsplit", null) is { } m2 ? JinjaRuntime.ToIndex(m2) : -1, fromRight: true);
            case "splitlines": return s.Split('\n').Select(l => (object?)l.TrimEnd('\r')).ToList() is var lines && s.EndsWith('\n') ? lines.Take(lines.Count - 1).ToList() : lines;
            case "join": return Join(s, JinjaRuntime.Iterate(arg(0, "iterable", null)).Select(x => x as string ?? throw new ChatTemplateException("Chat template: join() expects strings.")).ToList());
            case "find": return (long)s.IndexOf(Text(arg(0, "sub", null), name), StringComparison.Ordinal);
            case "rfind": return (long)s.LastIndexOf(Text(arg(0, "sub", null), name), StringComparison.Ordinal);
            case "index":
                int at = s.IndexOf(Text(arg(0, "sub", null), name), StringComparison.Ordinal);
                return at >= 0 ? (long)at : throw new ChatTemplateException("Chat template: substring not found (str.index).");
            case "count": { string sub = Text(arg(0, "sub", null), name); return sub.Length == 0 ? s.Length + 1L : (long)((s.Length - s.Replace(sub, "", StringComparison.Ordinal).Length) / sub.Length); }
            case "isdigit": return s.Length > 0 && s.All(char.IsDigit);
            case "isalpha": return s.Length > 0 && s.All(char.IsLetter);
            case "isalnum": return s.Length > 0 && s.All(char.IsLetterOrDigit);
            case "isspace": return s.Length > 0 && s.All(char.IsWhiteSpace);
            case "islower": return s.Any(char.IsLetter) && !s.Any(char.IsUpper);
            case "isupper": return s.Any(char.IsLetter) && !s.Any(char.IsLower);
            case "zfill": { long w = JinjaRuntime.ToIndex(arg(0, "width", null)); JinjaRuntime.CheckSize(w); return s.PadLeft((int)Math.Max(w, s.Length), '0'); }
            case "center": { long w = JinjaRuntime.ToIndex(arg(0, "width", null)); JinjaRuntime.CheckSize(w); int pad = (int)Math.Max(0, w - s.Length); return new string(' ', pad / 2) + s + new string(' ', pad - (pad / 2)); }
            case "format": return Format(s, arg);
            default: throw Unsupported("string", name);
        }
    }

    private static IEnumerable<string> Affixes(object? value, string method) => value switch
    {
        string one => [one],
        IList many => many.Cast<object?>().Select(x => Text(x, method)),
        _ => throw new ChatTemplateException($"Chat template: {method}() needs a string or a tuple of strings."),
    };

    /// <summary>Python's str.title: a letter after a non-letter is upper-cased, every other letter lower-cased.</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool previousLetter = false;
        foreach (char c in s)
        {
            sb.Append(previousLetter ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            previousLetter = char.IsLetter(c);
        }
        return sb.ToString();
    }

    public static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    public static string Replace(string text, string oldValue, string newValue, long count = -1)
    {
        if (oldValue.Length == 0) throw new ChatTemplateException("Chat template: replace() needs a non-empty string to find.");
        long worst = text.Length + ((long)(text.Length / oldValue.Length) * Math.Max(0, newValue.Length - oldValue.Length));
        JinjaRuntime.CheckSize(worst);
        if (count < 0) return text.Replace(oldValue, newValue, StringComparison.Ordinal);
        var sb = new StringBuilder();
        int start = 0;
        for (long n = 0; n < count; n++)
        {
            int at = text.IndexOf(oldValue, start, StringComparison.Ordinal);
            if (at < 0) break;
            sb.Append(text, start, at - start).Append(newValue);
            start = at + oldValue.Length;
        }
        return sb.Append(text, start, text.Length - start).ToString();
    }

    public static string Join(string separator, List<string> parts)
    {
        JinjaRuntime.CheckSize(parts.Sum(p => (long)p.Length) + ((long)separator.Length * Math.Max(0, parts.Count - 1)));
        return string.Join(separator, parts);
    }

    private static List<object?> Split(string s, object? separator, long maxSplit, bool fromRight)
    {
        List<string> parts;
        if (separator is null)
        {
            // Python: runs of whitespace separate, and leading/trailing whitespace yields no empty items.
            var spans = new List<(int Start, int End)>();
            for (int i = 0; i < s.Length;)
            {
                while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
                int start = i;
                while (i < s.Length && !char.IsWhiteSpace(s[i])) i++;
                if (i > start) spans.Add((start, i));
            }
            if (maxSplit >= 0 && spans.Count > maxSplit + 1)
            {
                int k = (int)maxSplit;
                parts = fromRight
                    ? [s[..spans[^(k + 1)].End], .. spans.Skip(spans.Count - k).Select(x => s[x.Start..x.End])]
                    : [.. spans.Take(k).Select(x => s[x.Start..x.End]), s[spans[k].Start..]];
            }
            else
            {
                parts = [.. spans.Select(x => s[x.Start..x.End])];
            }
        }
        else
        {
            string sep = Text(separator, "split");
            if (sep.Length == 0) throw new ChatTemplateException("Chat template: split() separator is empty.");
            parts = [.. s.Split(sep)];
            if (maxSplit >= 0 && parts.Count > maxSplit + 1)
            {
                parts = fromRight
                    ? [string.Join(sep, parts.Take(parts.Count - (int)maxSplit)), .. parts.Skip(parts.Count - (int)maxSplit)]
                    : [.. parts.Take((int)maxSplit), string.Join(sep, parts.Skip((int)maxSplit))];
            }
        }
        return parts.Select(p => (object?)p).ToList();
    }

    /// <summary>str.format with "{}", "{0}" and "{name}" fields (no format specs beyond the empty one).</summary>
    private static string Format(string s, Func<int, string, object?, object?> arg)
    {
        var sb = new StringBuilder();
        int next = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '{' && i + 1 < s.Length && s[i + 1] == '{') { sb.Append('{'); i++; continue; }
            if (c == '}' && i + 1 < s.Length && s[i + 1] == '}') { sb.Append('}'); i++; continue; }
            if (c != '{') { sb.Append(c); continue; }
            int close = s.IndexOf('}', i);
            if (close < 0) throw new ChatTemplateException("Chat template: format() has an unclosed '{'.");
            string field = s[(i + 1)..close];
            object? value = field.Length == 0 ? arg(next++, "\0", JinjaUndefined.Instance)
                : int.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out int index) ? arg(index, "\0", JinjaUndefined.Instance)
                : arg(int.MaxValue, field, JinjaUndefined.Instance);
            if (value is JinjaUndefined) throw new ChatTemplateException($"Chat template: format() has no value for '{{{field}}}'.");
            sb.Append(JinjaPrinter.ToText(value));
            i = close;
        }
        return sb.ToString();
    }

    /// <summary>Python's <c>"%s" % value</c> for %s, %d, %i, %r and %%.</summary>
    public static string PercentFormat(string format, object? values)
    {
        var items = values is IList list ? list.Cast<object?>().ToList() : [values];
        var sb = new StringBuilder();
        int next = 0;
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length) { sb.Append(format[i]); continue; }
            char code = format[++i];
            if (code == '%') { sb.Append('%'); continue; }
            if (next >= items.Count) throw new ChatTemplateException("Chat template: not enough arguments for format string.");
            object? v = items[next++];
            sb.Append(code switch
            {
                's' => JinjaPrinter.ToText(v),
                'r' => JinjaPrinter.Repr(v, 0),
                'd' or 'i' => JinjaRuntime.ToLong(v).ToString(CultureInfo.InvariantCulture),
                _ => throw new ChatTemplateException($"Chat template: unsupported format code '%{code}'."),
            });
        }
        return sb.ToString();
    }
}
