using System.Text;

namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>
/// A macro defined by <c>{% macro %}</c> (or the body of a <c>{% call %}</c> block, as <c>caller</c>): renders its body
/// in a new scope over the scope it was defined in, with its parameters bound, and returns the text.
/// </summary>
internal sealed class JinjaMacro(string name, List<(string Name, JinjaExpr? Default)> parameters, List<JinjaNode> body, JinjaContext context, JinjaScope closure) : IJinjaCallable
{
    public object? Call(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs)
    {
        JinjaMacro? caller = kwargs.TryGetValue("caller", out object? c) ? c as JinjaMacro : null;
        return Invoke(args, kwargs.Where(kv => kv.Key != "caller").ToDictionary(kv => kv.Key, kv => kv.Value), caller);
    }

    public string Invoke(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs, JinjaMacro? caller)
    {
        using JinjaContext.CallGuard call = context.EnterCall();
        using JinjaContext.ScopeGuard scope = context.Enter(closure);
        var extraKwargs = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, object?> kv in kwargs)
        {
            if (!parameters.Any(p => p.Name == kv.Key)) extraKwargs[kv.Key] = kv.Value;
        }
        for (int i = 0; i < parameters.Count; i++)
        {
            (string parameter, JinjaExpr? fallback) = parameters[i];
            object? value = i < args.Count ? args[i]
                : kwargs.TryGetValue(parameter, out object? v) ? v
                : fallback is not null ? fallback.Eval(context)
                : JinjaUndefined.Instance;
            context.Set(parameter, value);
        }
        context.Set("varargs", args.Skip(parameters.Count).ToList());
        context.Set("kwargs", extraKwargs);
        if (caller is not null) context.Set("caller", caller);
        var output = new StringBuilder();
        JinjaNode.RenderAll(body, context, output);
        return output.ToString();
    }

    public override string ToString() => "<Macro '" + name + "'>";
}
