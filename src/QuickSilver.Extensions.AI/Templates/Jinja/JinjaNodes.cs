using System.Text;

namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>How a node finished: normally, or by <c>{% break %}</c> / <c>{% continue %}</c> (the loopcontrols extension transformers enables).</summary>
internal enum JinjaFlow { Normal, Break, Continue }

/// <summary>A statement or text node of a parsed template.</summary>
internal abstract class JinjaNode
{
    public abstract JinjaFlow Render(JinjaContext context, StringBuilder output);

    public static JinjaFlow RenderAll(List<JinjaNode> nodes, JinjaContext context, StringBuilder output)
    {
        foreach (JinjaNode node in nodes)
        {
            JinjaFlow flow = node.Render(context, output);
            if (flow != JinjaFlow.Normal) return flow;
        }
        return JinjaFlow.Normal;
    }
}

internal sealed class TextNode(string text) : JinjaNode
{
    public override JinjaFlow Render(JinjaContext context, StringBuilder output)
    {
        output.Append(text);
        return JinjaFlow.Normal;
    }
}

internal sealed class OutputNode(JinjaExpr expr) : JinjaNode
{
    public override JinjaFlow Render(JinjaContext context, StringBuilder output)
    {
        output.Append(JinjaRuntime.ToText(expr.Eval(context)));
        JinjaContext.CheckOutput(output);
        return JinjaFlow.Normal;
    }
}

/// <summary>Where <c>set</c> stores: plain names (several unpack a sequence) or one attribute of a namespace.</summary>
internal sealed record JinjaTarget(List<string> Names, string? NamespaceName)
{
    public void Assign(JinjaContext context, object? value)
    {
        if (NamespaceName is not null)
        {
            if (context.Lookup(NamespaceName) is not JinjaNamespace ns)
            {
                throw new ChatTemplateException($"Chat template: cannot assign attribute '{Names[0]}' on '{NamespaceName}', which is not a namespace().");
            }
            ns[Names[0]] = value;
            return;
        }
        if (Names.Count == 1)
        {
            context.Set(Names[0], value);
            return;
        }
        var parts = JinjaRuntime.Iterate(value).ToList();
        if (parts.Count != Names.Count)
        {
            throw new ChatTemplateException($"Chat template: cannot unpack {parts.Count} values into {Names.Count} names ({string.Join(", ", Names)}).");
        }
        for (int k = 0; k < Names.Count; k++) context.Set(Names[k], parts[k]);
    }
}

internal sealed class SetNode(JinjaTarget target, JinjaExpr value) : JinjaNode
{
    public override JinjaFlow Render(JinjaContext context, StringBuilder output)
    {
        target.Assign(context, value.Eval(context));
        return JinjaFlow.Normal;
    }
}

/// <summary><c>{% set x %}…{% endset %}</c>: the rendered body (through optional filters) becomes the value.</summary>
internal sealed class SetBlockNode(JinjaTarget target, List<JinjaNode> body, Func<object?, JinjaContext, object?> filters) : JinjaNode
{
    public override JinjaFlow Render(JinjaContext context, StringBuilder output)
    {
        var captured = new StringBuilder();
        RenderAll(body, context, captured);
        target.Assign(context, filters(captured.ToString(), context));
        return JinjaFlow.Normal;
    }
}

/// <summary><c>{% filter name %}…{% endfilter %}</c>: the rendered body goes through the filters.</summary>
internal sealed class FilterBlockNode(List<JinjaNode> body, Func<object?, JinjaContext, object?> filters) : JinjaNode
{
    public override JinjaFlow Render(JinjaContext context, StringBuilder output)
    {
        var captured = new StringBuilder();
        JinjaFlow flow = RenderAll(body, context, captured);
        output.Append(JinjaRuntime.ToText(filters(captured.ToString(), context)));
        return flow;
    }
}

internal sealed class IfNode(List<(JinjaExpr Condition, List<JinjaNode> Body)> branches, List<JinjaNode>? otherwise) : JinjaNode
{
    public override JinjaFlow Render(JinjaContext context, StringBuilder output)
    {
        foreach ((JinjaExpr condition, List<JinjaNode> body) in branches)
        {
            if (JinjaRuntime.IsTrue(condition.Eval(context))) return RenderAll(body, context, output);
        }
        return otherwise is null ? JinjaFlow.Normal : RenderAll(otherwise, context, output);
    }
}

/// <summary><c>{% with a = 1 %}…{% endwith %}</c>: names visible only inside the block.</summary>
internal sealed class WithNode(List<(string Name, JinjaExpr Value)> assignments, List<JinjaNode> body) : JinjaNode
{
    public override JinjaFlow Render(JinjaContext context, StringBuilder output)
    {
        var values = assignments.Select(a => (a.Name, Value: a.Value.Eval(context))).ToList();
        using JinjaContext.ScopeGuard scope = context.Enter(context.Scope);
        foreach ((string name, object? value) in values) context.Set(name, value);
        return RenderAll(body, context, output);
    }
}

internal sealed class LoopControlNode(JinjaFlow flow) : JinjaNode
{
    public override JinjaFlow Render(JinjaContext context, StringBuilder output) => flow;
}

/// <summary><c>{% macro name(a, b=default) %}…{% endmacro %}</c>: defines a callable in the current scope.</summary>
internal sealed class MacroNode(string name, List<(string Name, JinjaExpr? Default)> parameters, List<JinjaNode> body) : JinjaNode
{
    public override JinjaFlow Render(JinjaContext context, StringBuilder output)
    {
        context.Set(name, new JinjaMacro(name, parameters, body, context, context.Scope));
        return JinjaFlow.Normal;
    }
}

/// <summary><c>{% call(args) macro(…) %}body{% endcall %}</c>: calls the macro with the body as <c>caller()</c>.</summary>
internal sealed class CallBlockNode(CallExpr call, List<(string Name, JinjaExpr? Default)> callerParameters, List<JinjaNode> body) : JinjaNode
{
    public override JinjaFlow Render(JinjaContext context, StringBuilder output)
    {
        var caller = new JinjaMacro("caller", callerParameters, body, context, context.Scope);
        if (call.Callee.Eval(context) is not JinjaMacro macro)
        {
            throw new ChatTemplateException("Chat template: {% call %} needs a macro.");
        }
        var args = call.Args.Select(a => a.Eval(context)).ToList();
        var kwargs = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach ((string n, JinjaExpr v) in call.Kwargs) kwargs[n] = v.Eval(context);
        output.Append(JinjaRuntime.ToText(macro.Invoke(args, kwargs, caller)));
        JinjaContext.CheckOutput(output);
        return JinjaFlow.Normal;
    }
}
