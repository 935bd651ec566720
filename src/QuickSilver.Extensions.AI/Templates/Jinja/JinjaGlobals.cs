using System.Globalization;
using System.Text;

namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>
/// The functions every chat template can call: Jinja2's <c>range</c>, <c>dict</c> and <c>namespace</c>, and the
/// <c>raise_exception</c> and <c>strftime_now</c> that transformers adds.
/// </summary>
internal static class JinjaGlobals
{
    public static void AddTo(IDictionary<string, object?> scope)
    {
        scope["raise_exception"] = new JinjaFunction("raise_exception", (args, _) =>
            throw new ChatTemplateException("Chat template raised: " + (args.Count > 0 ? JinjaRuntime.ToText(args[0]) : "error")));
        scope["range"] = new JinjaFunction("range", (args, _) => Range(args));
        scope["dict"] = new JinjaFunction("dict", (args, kwargs) =>
        {
            var map = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (args.Count > 0 && args[0] is IDictionary<string, object?> source) foreach (var kv in source) map[kv.Key] = kv.Value;
            foreach (var kv in kwargs) map[kv.Key] = kv.Value;
            return map;
        });
        scope["namespace"] = new JinjaFunction("namespace", (args, kwargs) =>
        {
            var ns = new JinjaNamespace();
            if (args.Count > 0 && args[0] is IDictionary<string, object?> source) foreach (var kv in source) ns[kv.Key] = kv.Value;
            foreach (var kv in kwargs) ns[kv.Key] = kv.Value;
            return ns;
        });
        // Llama 3.1+ templates print today's date.
        scope["strftime_now"] = new JinjaFunction("strftime_now", (args, _) => StrFTime(DateTime.Now, args.Count > 0 ? JinjaRuntime.ToText(args[0]) : "%Y-%m-%d"));
    }

    private static List<object?> Range(IReadOnlyList<object?> args)
    {
        if (args.Count is 0 or > 3) throw new ChatTemplateException("Chat template: range() takes 1 to 3 integer arguments.");
        long start = args.Count > 1 ? JinjaRuntime.ToIndex(args[0]) : 0;
        long stop = JinjaRuntime.ToIndex(args.Count > 1 ? args[1] : args[0]);
        long step = args.Count > 2 ? JinjaRuntime.ToIndex(args[2]) : 1;
        if (step == 0) throw new ChatTemplateException("Chat template: range() step cannot be zero.");
        double length = Math.Ceiling(((double)stop - start) / step);
        if (length > ChatTemplateLimits.MaxLoopIterations)
        {
            throw new ChatTemplateException($"Chat template: range() of {length:0} items exceeds the limit of {ChatTemplateLimits.MaxLoopIterations}.");
        }
        var list = new List<object?>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step) list.Add(i);
        return list;
    }

    public static string StrFTime(DateTime time, string format)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length)
            {
                sb.Append(format[i]);
                continue;
            }
            char code = format[++i];
            sb.Append(code switch
            {
                'd' => time.ToString("dd", CultureInfo.InvariantCulture),
                'm' => time.ToString("MM", CultureInfo.InvariantCulture),
                'Y' => time.ToString("yyyy", CultureInfo.InvariantCulture),
                'y' => time.ToString("yy", CultureInfo.InvariantCulture),
                'b' => time.ToString("MMM", CultureInfo.InvariantCulture),
                'B' => time.ToString("MMMM", CultureInfo.InvariantCulture),
                'a' => time.ToString("ddd", CultureInfo.InvariantCulture),
                'A' => time.ToString("dddd", CultureInfo.InvariantCulture),
                'H' => time.ToString("HH", CultureInfo.InvariantCulture),
                'I' => time.ToString("hh", CultureInfo.InvariantCulture),
                'p' => time.Hour < 12 ? "AM" : "PM",
                'M' => time.ToString("mm", CultureInfo.InvariantCulture),
                'S' => time.ToString("ss", CultureInfo.InvariantCulture),
                'j' => time.DayOfYear.ToString("000", CultureInfo.InvariantCulture),
                '%' => "%",
                _ => "%" + code,
            });
        }
        return sb.ToString();
    }
}
