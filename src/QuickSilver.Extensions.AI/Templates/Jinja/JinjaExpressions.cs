namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>An expression node; evaluation follows Jinja2 (Python) semantics through <see cref="JinjaRuntime"/>.</summary>
internal abstract class JinjaExpr
{
    public abstract object? Eval(JinjaContext context);
}

internal sealed class LiteralExpr(object? value) : JinjaExpr
{
    public object? Value => value;

    public override object? Eval(JinjaContext context) => value;
}

internal sealed class NameExpr(string name) : JinjaExpr
{
    public string Identifier => name;

    public override object? Eval(JinjaContext context)
    {
        object? value = context.Lookup(name);
        return value is JinjaUndefined ? JinjaUndefined.Variable(name) : value;
    }
}

internal sealed class ListExpr(List<JinjaExpr> items) : JinjaExpr
{
    public List<JinjaExpr> Items => items;

    public override object? Eval(JinjaContext context) => items.Select(i => i.Eval(context)).ToList();
}

internal sealed class DictExpr(List<(JinjaExpr Key, JinjaExpr Value)> items) : JinjaExpr
{
    public override object? Eval(JinjaContext context)
    {
        var map = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach ((JinjaExpr key, JinjaExpr value) in items) map[JinjaRuntime.ToText(key.Eval(context))] = value.Eval(context);
        return map;
    }
}

internal sealed class AttributeExpr(JinjaExpr target, string name) : JinjaExpr
{
    public JinjaExpr Target => target;

    public string Name => name;

    public override object? Eval(JinjaContext context) => JinjaRuntime.GetAttribute(target.Eval(context), name);
}

internal sealed class IndexExpr(JinjaExpr target, JinjaExpr key) : JinjaExpr
{
    public override object? Eval(JinjaContext context) => JinjaRuntime.GetItem(target.Eval(context), key.Eval(context));
}

internal sealed class SliceExpr(JinjaExpr target, JinjaExpr? start, JinjaExpr? stop, JinjaExpr? step) : JinjaExpr
{
    public override object? Eval(JinjaContext context)
        => JinjaRuntime.Slice(target.Eval(context), start?.Eval(context), stop?.Eval(context), step?.Eval(context));
}

internal sealed class CallExpr(JinjaExpr callee, List<JinjaExpr> args, List<(string Name, JinjaExpr Value)> kwargs) : JinjaExpr
{
    public JinjaExpr Callee => callee;

    public List<JinjaExpr> Args => args;

    public List<(string Name, JinjaExpr Value)> Kwargs => kwargs;

    public override object? Eval(JinjaContext context)
    {
        object? function;
        if (callee is AttributeExpr method)
        {
            object? target = method.Target.Eval(context);
            if (JinjaMethods.IsMethod(target, method.Name))
            {
                return JinjaMethods.Call(target, method.Name, EvalArgs(context), EvalKwargs(context));
            }
            function = JinjaRuntime.GetAttribute(target, method.Name);
        }
        else
        {
            function = callee.Eval(context);
        }
        return function switch
        {
            IJinjaCallable f => f.Call(EvalArgs(context), EvalKwargs(context)),
            JinjaUndefined undefined => throw new ChatTemplateException($"Chat template: {undefined.Hint}, so {Describe()} cannot be called."),
            _ => throw new ChatTemplateException($"Chat template: {Describe()} ({JinjaRuntime.TypeName(function)}) is not callable."),
        };
    }

    private string Describe() => callee switch
    {
        NameExpr n => "'" + n.Identifier + "'",
        AttributeExpr a => "'" + a.Name + "'",
        _ => "the value",
    };

    private List<object?> EvalArgs(JinjaContext context) => args.Select(a => a.Eval(context)).ToList();

    private Dictionary<string, object?> EvalKwargs(JinjaContext context)
    {
        var map = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach ((string name, JinjaExpr value) in kwargs) map[name] = value.Eval(context);
        return map;
    }
}

/// <summary><c>value | name(args)</c>; the filter was looked up when the template was parsed.</summary>
internal sealed class FilterExpr(JinjaExpr value, JinjaFilter filter, List<JinjaExpr> args, List<(string Name, JinjaExpr Value)> kwargs) : JinjaExpr
{
    public override object? Eval(JinjaContext context)
    {
        var map = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach ((string name, JinjaExpr v) in kwargs) map[name] = v.Eval(context);
        return filter(value.Eval(context), args.Select(a => a.Eval(context)).ToList(), map);
    }
}

/// <summary><c>value is [not] name(args)</c>; the test was looked up when the template was parsed.</summary>
internal sealed class TestExpr(JinjaExpr value, JinjaTest test, List<JinjaExpr> args, bool negate) : JinjaExpr
{
    public override object? Eval(JinjaContext context) => test(value.Eval(context), args.Select(a => a.Eval(context)).ToList()) != negate;
}

internal sealed class UnaryExpr(string op, JinjaExpr operand) : JinjaExpr
{
    public override object? Eval(JinjaContext context)
    {
        object? v = operand.Eval(context);
        return op switch
        {
            "not" => !JinjaRuntime.IsTrue(v),
            "-" => v is long or bool ? (object)(-JinjaRuntime.ToLong(v)) : -JinjaRuntime.ToDouble(v),
            _ => v is long or bool ? (object)JinjaRuntime.ToLong(v) : JinjaRuntime.ToDouble(v),
        };
    }
}

internal sealed class BinaryExpr(string op, JinjaExpr left, JinjaExpr right) : JinjaExpr
{
    public override object? Eval(JinjaContext context)
    {
        switch (op)
        {
            case "and":
                object? a = left.Eval(context);
                return JinjaRuntime.IsTrue(a) ? right.Eval(context) : a;
            case "or":
                object? b = left.Eval(context);
                return JinjaRuntime.IsTrue(b) ? b : right.Eval(context);
        }
        return Apply(op, left.Eval(context), right.Eval(context));
    }

    /// <summary>Every operator but and/or, on evaluated operands.</summary>
    public static object? Apply(string op, object? x, object? y)
    {
        return op switch
        {
            "~" => JinjaRuntime.Add(JinjaRuntime.ToText(x), JinjaRuntime.ToText(y)),
            "==" => JinjaRuntime.Equals(x, y),
            "!=" => !JinjaRuntime.Equals(x, y),
            "<" => JinjaRuntime.Compare(x, y) < 0,
            "<=" => JinjaRuntime.Compare(x, y) <= 0,
            ">" => JinjaRuntime.Compare(x, y) > 0,
            ">=" => JinjaRuntime.Compare(x, y) >= 0,
            "in" => JinjaRuntime.Contains(y, x),
            "not in" => !JinjaRuntime.Contains(y, x),
            _ => JinjaRuntime.Arithmetic(op, x, y),
        };
    }
}

/// <summary><c>a &lt; b &lt;= c</c>: each comparison in turn, each operand evaluated once, stopping at the first false one.</summary>
internal sealed class ComparisonChainExpr(List<JinjaExpr> operands, List<string> ops) : JinjaExpr
{
    public override object? Eval(JinjaContext context)
    {
        object? left = operands[0].Eval(context);
        for (int i = 0; i < ops.Count; i++)
        {
            object? right = operands[i + 1].Eval(context);
            if (!JinjaRuntime.IsTrue(BinaryExpr.Apply(ops[i], left, right))) return false;
            left = right;
        }
        return true;
    }
}

internal sealed class ConditionalExpr(JinjaExpr condition, JinjaExpr then, JinjaExpr? otherwise) : JinjaExpr
{
    public override object? Eval(JinjaContext context)
        => JinjaRuntime.IsTrue(condition.Eval(context)) ? then.Eval(context) : otherwise is null ? JinjaUndefined.Instance : otherwise.Eval(context);
}
