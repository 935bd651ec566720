using static QuickSilver.Extensions.AI.Templates.Jinja.JinjaLexer;

namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>
/// Builds the node tree from the lexer's segments: if/elif/else, for/else (with filter), set (names, tuples, namespace
/// attributes, blocks), macro, call, filter, with, break/continue and HF's generation marker. Anything else (include,
/// import, extends, block, recursive loops) is refused with the statement named.
/// </summary>
internal sealed class JinjaParser(List<Segment> segments)
{
    private int _position;
    private int _depth;
    private int _loopDepth;

    /// <summary>Every variable name the template reads (e.g. "tools", to tell whether it renders tool specs itself).</summary>
    public HashSet<string> ReferencedNames { get; } = new(StringComparer.Ordinal);

    public List<JinjaNode> ParseTemplate()
    {
        List<JinjaNode> body = ParseBlock(out string? terminator);
        if (terminator is not null)
        {
            throw new ChatTemplateException($"Chat template: unexpected '{{% {terminator} %}}' at offset {segments[_position].Offset} (no block is open).");
        }
        return body;
    }

    private List<JinjaNode> ParseBlock(out string? terminator, params string[] terminators)
    {
        if (++_depth > ChatTemplateLimits.MaxNestingDepth)
        {
            throw new ChatTemplateException($"Chat template: blocks nested deeper than {ChatTemplateLimits.MaxNestingDepth}.");
        }
        try
        {
            return ParseBlockBody(out terminator, terminators);
        }
        finally
        {
            _depth--;
        }
    }

    private List<JinjaNode> ParseBlockBody(out string? terminator, string[] terminators)
    {
        var nodes = new List<JinjaNode>();
        while (_position < segments.Count)
        {
            Segment segment = segments[_position++];
            switch (segment.Kind)
            {
                case SegmentKind.Text:
                    nodes.Add(new TextNode(segment.Content));
                    break;
                case SegmentKind.Output:
                    var expression = new JinjaExpressionParser(Tokenize(segment.Content, segment.Offset), ReferencedNames);
                    nodes.Add(new OutputNode(expression.ParseExpression()));
                    expression.ExpectEnd();
                    break;
                default:
                    var tokens = new JinjaExpressionParser(Tokenize(segment.Content, segment.Offset), ReferencedNames);
                    string keyword = tokens.ExpectName();
                    if (terminators.Contains(keyword))
                    {
                        _position--;
                        terminator = keyword;
                        return nodes;
                    }
                    nodes.Add(ParseStatement(keyword, tokens, segment));
                    break;
            }
        }
        terminator = null;
        return nodes;
    }

    private JinjaNode ParseStatement(string keyword, JinjaExpressionParser tokens, Segment segment)
    {
        switch (keyword)
        {
            case "if":
                return ParseIf(tokens, segment);
            case "for":
                return ParseFor(tokens, segment);
            case "set":
                return ParseSet(tokens, segment);
            case "macro":
                return ParseMacro(tokens, segment);
            case "call":
                return ParseCallBlock(tokens, segment);
            case "filter":
            {
                Func<object?, JinjaContext, object?> filters = ParseFilterChain(tokens, requireFirst: true);
                tokens.ExpectEnd();
                return new FilterBlockNode(ParseBody(segment, "endfilter"), filters);
            }
            case "with":
            {
                var assignments = new List<(string, JinjaExpr)>();
                while (!tokens.AtEnd)
                {
                    string name = tokens.ExpectName();
                    tokens.ExpectOperator("=");
                    assignments.Add((name, tokens.ParseExpression()));
                    if (!tokens.TryOperator(",")) break;
                }
                tokens.ExpectEnd();
                return new WithNode(assignments, ParseBody(segment, "endwith"));
            }
            case "break" or "continue":
                tokens.ExpectEnd();
                if (_loopDepth == 0)
                {
                    throw new ChatTemplateException($"Chat template: '{{% {keyword} %}}' outside a for loop at offset {segment.Offset}.");
                }
                return new LoopControlNode(keyword == "break" ? JinjaFlow.Break : JinjaFlow.Continue);
            case "generation":
                // Hugging Face's assistant-mask marker: renders its body unchanged.
                tokens.ExpectEnd();
                return new IfNode([(new LiteralExpr(true), ParseBody(segment, "endgeneration"))], null);
            case "elif" or "else" or "endif" or "endfor" or "endset" or "endmacro" or "endcall" or "endfilter" or "endwith" or "endgeneration":
                throw new ChatTemplateException($"Chat template: unexpected '{{% {keyword} %}}' at offset {segment.Offset} (no block is open).");
            default:
                throw new ChatTemplateException($"Chat template: unsupported statement '{{% {keyword} %}}' at offset {segment.Offset}.");
        }
    }

    private JinjaNode ParseIf(JinjaExpressionParser tokens, Segment segment)
    {
        var branches = new List<(JinjaExpr, List<JinjaNode>)>();
        JinjaExpr condition = tokens.ParseExpression();
        tokens.ExpectEnd();
        while (true)
        {
            List<JinjaNode> body = ParseBlock(out string? end, "elif", "else", "endif");
            branches.Add((condition, body));
            JinjaExpressionParser next = Resume(end, segment, "endif");
            if (end == "elif")
            {
                condition = next.ParseExpression();
                next.ExpectEnd();
                continue;
            }
            next.ExpectEnd();
            List<JinjaNode>? otherwise = end == "else" ? ParseBody(segment, "endif") : null;
            return new IfNode(branches, otherwise);
        }
    }

    private JinjaNode ParseFor(JinjaExpressionParser tokens, Segment segment)
    {
        JinjaTarget target = ParseTarget(tokens, allowNamespace: false);
        tokens.ExpectKeyword("in");
        JinjaExpr iterable = tokens.ParseOr();
        JinjaExpr? filter = tokens.TryKeyword("if") ? tokens.ParseOr() : null;
        if (tokens.TryKeyword("recursive"))
        {
            throw new ChatTemplateException($"Chat template: recursive for loops are not supported (offset {segment.Offset}).");
        }
        tokens.ExpectEnd();
        _loopDepth++;
        List<JinjaNode> body = ParseBlock(out string? end, "else", "endfor");
        _loopDepth--;
        Resume(end, segment, "endfor").ExpectEnd();
        List<JinjaNode>? otherwise = end == "else" ? ParseBody(segment, "endfor") : null;
        return new ForNode(target, iterable, filter, body, otherwise);
    }

    private JinjaNode ParseSet(JinjaExpressionParser tokens, Segment segment)
    {
        JinjaTarget target = ParseTarget(tokens, allowNamespace: true);
        if (tokens.TryOperator("="))
        {
            JinjaExpr value = tokens.ParseTuple();
            tokens.ExpectEnd();
            return new SetNode(target, value);
        }
        Func<object?, JinjaContext, object?> filters = ParseFilterChain(tokens, requireFirst: false);
        tokens.ExpectEnd();
        return new SetBlockNode(target, ParseBody(segment, "endset"), filters);
    }

    private JinjaNode ParseMacro(JinjaExpressionParser tokens, Segment segment)
    {
        string name = tokens.ExpectName();
        tokens.ExpectOperator("(");
        List<(string, JinjaExpr?)> parameters = ParseParameters(tokens);
        tokens.ExpectEnd();
        int loops = _loopDepth;
        _loopDepth = 0;
        List<JinjaNode> body = ParseBody(segment, "endmacro");
        _loopDepth = loops;
        return new MacroNode(name, parameters, body);
    }

    private JinjaNode ParseCallBlock(JinjaExpressionParser tokens, Segment segment)
    {
        List<(string, JinjaExpr?)> callerParameters = tokens.TryOperator("(") ? ParseParameters(tokens) : [];
        JinjaExpr call = tokens.ParseExpression();
        tokens.ExpectEnd();
        if (call is not CallExpr callExpr)
        {
            throw new ChatTemplateException($"Chat template: '{{% call %}}' needs a macro call at offset {segment.Offset}.");
        }
        int loops = _loopDepth;
        _loopDepth = 0;
        List<JinjaNode> body = ParseBody(segment, "endcall");
        _loopDepth = loops;
        return new CallBlockNode(callExpr, callerParameters, body);
    }

    private static List<(string, JinjaExpr?)> ParseParameters(JinjaExpressionParser tokens)
    {
        var parameters = new List<(string, JinjaExpr?)>();
        while (!tokens.TryOperator(")"))
        {
            string parameter = tokens.ExpectName();
            parameters.Add((parameter, tokens.TryOperator("=") ? tokens.ParseExpression() : null));
            if (!tokens.TryOperator(",")) { tokens.ExpectOperator(")"); break; }
        }
        return parameters;
    }

    private static JinjaTarget ParseTarget(JinjaExpressionParser tokens, bool allowNamespace)
    {
        string name = tokens.ExpectName();
        if (allowNamespace && tokens.TryOperator("."))
        {
            return new JinjaTarget([tokens.ExpectName()], name);
        }
        var names = new List<string> { name };
        while (tokens.TryOperator(",")) names.Add(tokens.ExpectName());
        return new JinjaTarget(names, null);
    }

    /// <summary>"| f1(args) | f2" after a filter block or a set block, as one function of the captured text.</summary>
    private static Func<object?, JinjaContext, object?> ParseFilterChain(JinjaExpressionParser tokens, bool requireFirst)
    {
        var placeholder = new CapturedValue();
        JinjaExpr chain = placeholder;
        bool first = requireFirst;
        while (first || tokens.TryOperator("|"))
        {
            first = false;
            chain = tokens.ParseFilter(chain);
        }
        // The captured text travels in a scope of its own, not in the shared node: one parsed template renders on many threads.
        return (value, context) =>
        {
            using JinjaContext.ScopeGuard scope = context.Enter(context.Scope);
            context.Set(CapturedValue.Slot, value);
            return chain.Eval(context);
        };
    }

    private sealed class CapturedValue : JinjaExpr
    {
        public const string Slot = "\0captured";

        public override object? Eval(JinjaContext context) => context.Lookup(Slot);
    }

    private List<JinjaNode> ParseBody(Segment opener, string end)
    {
        List<JinjaNode> body = ParseBlock(out string? terminator, end);
        Resume(terminator, opener, end).ExpectEnd();
        return body;
    }

    private JinjaExpressionParser Resume(string? terminator, Segment opener, string expected)
    {
        if (terminator is null)
        {
            throw new ChatTemplateException($"Chat template: the block opened at offset {opener.Offset} is missing '{{% {expected} %}}'.");
        }
        Segment segment = segments[_position++];
        var tokens = new JinjaExpressionParser(Tokenize(segment.Content, segment.Offset), ReferencedNames);
        tokens.ExpectName();
        if (terminator.StartsWith("end", StringComparison.Ordinal) && !tokens.AtEnd && tokens.Peek.Kind == TokenKind.Name)
        {
            tokens.ExpectName(); // {% endmacro name %} / {% endblock name %}
        }
        return tokens;
    }
}
