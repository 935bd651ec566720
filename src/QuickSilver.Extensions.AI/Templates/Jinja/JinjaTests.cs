using System.Collections;

namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>A Jinja test (<c>x is name(args)</c>).</summary>
internal delegate bool JinjaTest(object? value, IReadOnlyList<object?> args);

/// <summary>Jinja2's built-in tests, looked up by name when a template is parsed.</summary>
internal static class JinjaTests
{
    private static readonly Dictionary<string, JinjaTest> Tests = new(StringComparer.Ordinal)
    {
        ["defined"] = (v, _) => v is not JinjaUndefined,
        ["undefined"] = (v, _) => v is JinjaUndefined,
        ["none"] = (v, _) => v is null,
        ["string"] = (v, _) => v is string,
        // Python's bool is a Number, but not an integer for Jinja2's integer test.
        ["number"] = (v, _) => v is long or double or bool,
        ["integer"] = (v, _) => v is long,
        ["float"] = (v, _) => v is double,
        ["boolean"] = (v, _) => v is bool,
        ["true"] = (v, _) => v is true,
        ["false"] = (v, _) => v is false,
        ["mapping"] = (v, _) => v is IDictionary<string, object?> and not JinjaNamespace,
        // Jinja2: a sequence has len() and [] (strings, lists, dicts; Undefined too); an iterable supports iter().
        ["sequence"] = (v, _) => v is IList or string or JinjaUndefined || (v is IDictionary<string, object?> and not JinjaNamespace),
        ["iterable"] = (v, _) => v is IList or string or JinjaUndefined || (v is IDictionary<string, object?> and not JinjaNamespace),
        ["callable"] = (v, _) => v is IJinjaCallable,
        ["even"] = (v, _) => JinjaRuntime.ToLong(v) % 2 == 0,
        ["odd"] = (v, _) => JinjaRuntime.ToLong(v) % 2 != 0,
        ["divisibleby"] = (v, a) => JinjaRuntime.ToLong(v) % JinjaRuntime.ToLong(Arg(a, "divisibleby")) == 0,
        ["eq"] = (v, a) => JinjaRuntime.Equals(v, Arg(a, "eq")),
        ["equalto"] = (v, a) => JinjaRuntime.Equals(v, Arg(a, "equalto")),
        ["=="] = (v, a) => JinjaRuntime.Equals(v, Arg(a, "==")),
        ["ne"] = (v, a) => !JinjaRuntime.Equals(v, Arg(a, "ne")),
        ["!="] = (v, a) => !JinjaRuntime.Equals(v, Arg(a, "!=")),
        ["lt"] = (v, a) => JinjaRuntime.Compare(v, Arg(a, "lt")) < 0,
        ["lessthan"] = (v, a) => JinjaRuntime.Compare(v, Arg(a, "lessthan")) < 0,
        ["<"] = (v, a) => JinjaRuntime.Compare(v, Arg(a, "<")) < 0,
        ["le"] = (v, a) => JinjaRuntime.Compare(v, Arg(a, "le")) <= 0,
        ["<="] = (v, a) => JinjaRuntime.Compare(v, Arg(a, "<=")) <= 0,
        ["gt"] = (v, a) => JinjaRuntime.Compare(v, Arg(a, "gt")) > 0,
        ["greaterthan"] = (v, a) => JinjaRuntime.Compare(v, Arg(a, "greaterthan")) > 0,
        [">"] = (v, a) => JinjaRuntime.Compare(v, Arg(a, ">")) > 0,
        ["ge"] = (v, a) => JinjaRuntime.Compare(v, Arg(a, "ge")) >= 0,
        [">="] = (v, a) => JinjaRuntime.Compare(v, Arg(a, ">=")) >= 0,
        ["in"] = (v, a) => JinjaRuntime.Contains(Arg(a, "in"), v),
        ["sameas"] = (v, a) => Arg(a, "sameas") is var o && (v is null ? o is null : v is bool b ? o is bool c && b == c : ReferenceEquals(v, o)),
        ["lower"] = (v, _) => v is string s && s == s.ToLowerInvariant(),
        ["upper"] = (v, _) => v is string s && s == s.ToUpperInvariant(),
        ["escaped"] = (_, _) => false,
        ["filter"] = (v, _) => v is string s && JinjaFilters.Exists(s),
        ["test"] = (v, _) => v is string s && Exists(s),
    };

    public static bool Exists(string name) => Tests.ContainsKey(name);

    /// <summary>The test called <paramref name="name"/>.</summary>
    /// <exception cref="ChatTemplateException">Jinja2 has no such test, or QuickSilver does not support it.</exception>
    public static JinjaTest Get(string name) => Tests.TryGetValue(name, out JinjaTest? test)
        ? test
        : throw new ChatTemplateException($"Chat template: unsupported test '{name}'.");

    private static object? Arg(IReadOnlyList<object?> args, string test) => args.Count > 0
        ? args[0]
        : throw new ChatTemplateException($"Chat template: test '{test}' needs an argument.");
}
