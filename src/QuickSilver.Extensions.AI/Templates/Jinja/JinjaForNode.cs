using System.Text;

namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>
/// <c>{% for a[, b] in items [if cond] %}…{% else %}…{% endfor %}</c>. Each iteration gets its own scope (a <c>set</c>
/// inside does not leak out) and the <c>loop</c> object: index, index0, revindex, revindex0, first, last, length,
/// previtem, nextitem, depth, depth0, cycle() and changed(). The else branch runs when nothing was iterated.
/// </summary>
internal sealed class ForNode(JinjaTarget target, JinjaExpr iterable, JinjaExpr? filter, List<JinjaNode> body, List<JinjaNode>? otherwise) : JinjaNode
{
    public override JinjaFlow Render(JinjaContext context, StringBuilder output)
    {
        var items = JinjaRuntime.Iterate(iterable.Eval(context)).ToList();
        if (filter is not null)
        {
            items = items.Where(item =>
            {
                using JinjaContext.ScopeGuard scope = context.Enter(context.Scope);
                target.Assign(context, item);
                return JinjaRuntime.IsTrue(filter.Eval(context));
            }).ToList();
        }
        if (items.Count == 0)
        {
            return otherwise is null ? JinjaFlow.Normal : RenderAll(otherwise, context, output);
        }
        object? outerLoop = context.Lookup("loop");
        long depth = outerLoop is Dictionary<string, object?> outer && outer.TryGetValue("depth", out object? d) && d is long od ? od + 1 : 1;
        object? lastChanged = JinjaUndefined.Instance;
        JinjaScope parent = context.Scope;
        for (int i = 0; i < items.Count; i++)
        {
            context.CountIteration();
            JinjaContext.CheckOutput(output);
            using JinjaContext.ScopeGuard scope = context.Enter(parent);
            int index = i;
            target.Assign(context, items[i]);
            context.Set("loop", new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["index"] = (long)(i + 1),
                ["index0"] = (long)i,
                ["revindex"] = (long)(items.Count - i),
                ["revindex0"] = (long)(items.Count - i - 1),
                ["first"] = i == 0,
                ["last"] = i == items.Count - 1,
                ["length"] = (long)items.Count,
                ["depth"] = depth,
                ["depth0"] = depth - 1,
                ["previtem"] = i > 0 ? items[i - 1] : JinjaUndefined.Instance,
                ["nextitem"] = i < items.Count - 1 ? items[i + 1] : JinjaUndefined.Instance,
                ["cycle"] = new JinjaFunction("cycle", (args, _) => args.Count == 0
                    ? throw new ChatTemplateException("Chat template: loop.cycle() needs at least one value.")
                    : args[index % args.Count]),
                ["changed"] = new JinjaFunction("changed", (args, _) =>
                {
                    object? value = args.ToList();
                    bool changed = !JinjaRuntime.Equals(value, lastChanged);
                    lastChanged = value;
                    return changed;
                }),
            });
            if (RenderAll(body, context, output) == JinjaFlow.Break) break;
        }
        return JinjaFlow.Normal;
    }
}
