using System.Text;

namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>
/// The state of one render: the chain of variable scopes (template globals at the root, a new scope per loop iteration
/// and per macro call, as Jinja2 scopes them) and the counters that bound loops, recursion and output.
/// </summary>
internal sealed class JinjaContext
{
    private long _iterations;
    private int _callDepth;

    public JinjaContext(IReadOnlyDictionary<string, object?> variables)
    {
        var root = new Dictionary<string, object?>(StringComparer.Ordinal);
        JinjaGlobals.AddTo(root);
        foreach (KeyValuePair<string, object?> kv in variables) root[kv.Key] = kv.Value;
        Scope = new JinjaScope(root, null);
    }

    /// <summary>The innermost scope: lookups walk outward from it, <c>set</c> writes into it.</summary>
    public JinjaScope Scope { get; set; }

    public object? Lookup(string name) => Scope.Lookup(name);

    public void Set(string name, object? value) => Scope.Variables[name] = value;

    /// <summary>Enters a child scope of <paramref name="parent"/>; dispose to return to the previous scope.</summary>
    public ScopeGuard Enter(JinjaScope parent)
    {
        JinjaScope previous = Scope;
        Scope = new JinjaScope(new Dictionary<string, object?>(StringComparer.Ordinal), parent);
        return new ScopeGuard(this, previous);
    }

    public void CountIteration()
    {
        if (++_iterations > ChatTemplateLimits.MaxLoopIterations)
        {
            throw new ChatTemplateException($"Chat template: more than {ChatTemplateLimits.MaxLoopIterations} loop iterations in one render.");
        }
    }

    /// <summary>Macros may call themselves; the depth is bounded like block nesting so a runaway recursion ends in an error, not a crashed process.</summary>
    public CallGuard EnterCall()
    {
        if (++_callDepth > ChatTemplateLimits.MaxNestingDepth)
        {
            _callDepth--;
            throw new ChatTemplateException($"Chat template: macro calls nested deeper than {ChatTemplateLimits.MaxNestingDepth} (runaway recursion?).");
        }
        return new CallGuard(this);
    }

    public static void CheckOutput(StringBuilder output)
    {
        if (output.Length > ChatTemplateLimits.MaxOutputLength)
        {
            throw new ChatTemplateException($"Chat template: the rendered prompt exceeds {ChatTemplateLimits.MaxOutputLength} characters.");
        }
    }

    internal readonly struct ScopeGuard(JinjaContext context, JinjaScope previous) : IDisposable
    {
        public void Dispose() => context.Scope = previous;
    }

    internal readonly struct CallGuard(JinjaContext context) : IDisposable
    {
        public void Dispose() => context._callDepth--;
    }
}

/// <summary>One scope: its own variables and the scope it was opened in.</summary>
internal sealed class JinjaScope(Dictionary<string, object?> variables, JinjaScope? parent)
{
    public Dictionary<string, object?> Variables => variables;

    public object? Lookup(string name)
    {
        for (JinjaScope? s = this; s is not null; s = s.Parent)
        {
            if (s.Variables.TryGetValue(name, out object? value)) return value;
        }
        return JinjaUndefined.Instance;
    }

    public JinjaScope? Parent => parent;
}
