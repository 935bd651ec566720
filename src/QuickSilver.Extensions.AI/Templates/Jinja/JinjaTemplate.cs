using System.Text;

namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>
/// A parsed Jinja template, rendered with Jinja2's semantics as transformers configures them for chat templates
/// (trim_blocks, lstrip_blocks, loop controls, immutable sandbox, HF's tojson). Immutable after parsing, so one instance
/// renders on many threads.
/// </summary>
internal sealed class JinjaTemplate
{
    private readonly List<JinjaNode> _body;

    private JinjaTemplate(List<JinjaNode> body, string source, IReadOnlySet<string> referencedNames)
    {
        _body = body;
        Source = source;
        ReferencedNames = referencedNames;
    }

    public string Source { get; }

    /// <summary>The variable names the template reads.</summary>
    public IReadOnlySet<string> ReferencedNames { get; }

    /// <exception cref="ChatTemplateException">Malformed, or uses a statement, filter or test QuickSilver does not support.</exception>
    public static JinjaTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Length > ChatTemplateLimits.MaxSourceLength)
        {
            throw new ChatTemplateException($"Chat template: {source.Length} characters exceed the limit of {ChatTemplateLimits.MaxSourceLength}.");
        }
        try
        {
            var parser = new JinjaParser(JinjaLexer.Split(source));
            List<JinjaNode> body = parser.ParseTemplate();
            return new JinjaTemplate(body, source, parser.ReferencedNames);
        }
        catch (Exception ex) when (ex is not ChatTemplateException and not OutOfMemoryException)
        {
            // The template is untrusted input: any slip of the interpreter is reported as a template error, not a crash.
            throw new ChatTemplateException("Chat template: cannot parse: " + ex.Message, ex);
        }
    }

    /// <exception cref="ChatTemplateException">The template raised, or failed (undefined value, type error, a limit).</exception>
    public string Render(IReadOnlyDictionary<string, object?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        try
        {
            var context = new JinjaContext(variables);
            var output = new StringBuilder();
            JinjaNode.RenderAll(_body, context, output);
            JinjaContext.CheckOutput(output);
            return output.ToString();
        }
        catch (Exception ex) when (ex is not ChatTemplateException and not OutOfMemoryException)
        {
            throw new ChatTemplateException("Chat template: cannot render: " + ex.Message, ex);
        }
    }
}
