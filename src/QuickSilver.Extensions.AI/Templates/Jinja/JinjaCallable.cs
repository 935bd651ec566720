namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>A value a template can call: a global function (range, namespace, raise_exception), a macro, or a bound method.</summary>
internal interface IJinjaCallable
{
    /// <summary>Calls with positional and keyword arguments.</summary>
    object? Call(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs);
}

/// <summary>A callable backed by a delegate.</summary>
internal sealed class JinjaFunction(string name, Func<IReadOnlyList<object?>, IReadOnlyDictionary<string, object?>, object?> body) : IJinjaCallable
{
    public string Name => name;

    public object? Call(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs) => body(args, kwargs);
}

/// <summary>The mutable object <c>namespace(...)</c> returns: the one value <c>{% set ns.x = … %}</c> may write into from inside a loop.</summary>
internal sealed class JinjaNamespace : Dictionary<string, object?>
{
    public JinjaNamespace() : base(StringComparer.Ordinal) { }
}
