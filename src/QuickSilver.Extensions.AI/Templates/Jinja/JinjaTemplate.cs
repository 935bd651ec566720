using System.Globalization;
using System.Text;
using static QuickSilver.Extensions.AI.Templates.Jinja.JinjaLexer;

namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>
/// A parsed template in the Jinja subset used by published chat templates: output tags, for (with loop.*),
/// if/elif/else, set, comments, whitespace control, filters, tests, slicing, string/mapping methods and raise_exception.
/// </summary>
internal sealed class JinjaTemplate
{
    private readonly List<Node> _body;

    private JinjaTemplate(List<Node> body) => _body = body;

    public static JinjaTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Length > ChatTemplateLimits.MaxSourceLength)
        {
            throw new ChatTemplateException($"Chat template: {source.Length} characters exceed the limit of {ChatTemplateLimits.MaxSourceLength}.");
        }
        try
        {
            var parser = new Parser(JinjaLexer.Split(source));
            List<Node> body = parser.ParseBlock(out string? terminator);
            if (terminator is not null)
            {
                throw new ChatTemplateException($"Chat template: unexpected '{{% {terminator} %}}'.");
            }
            return new JinjaTemplate(body);
        }
        catch (Exception ex) when (ex is not ChatTemplateException and not OutOfMemoryException)
        {
            // The template is untrusted input: any slip of the interpreter is reported as a template error, not a crash.
            throw new ChatTemplateException("Chat template: cannot parse: " + ex.Message, ex);
        }
    }

    public string Render(IReadOnlyDictionary<string, object?> variables)
    {
        try
        {
            var context = new Context(variables);
            var output = new StringBuilder();
            foreach (Node node in _body)
            {
                node.Render(context, output);
                context.CheckOutput(output);
            }
            return output.ToString();
        }
        catch (Exception ex) when (ex is not ChatTemplateException and not OutOfMemoryException)
        {
            throw new ChatTemplateException("Chat template: cannot render: " + ex.Message, ex);
        }
    }

    private sealed class Context
    {
        private readonly List<Dictionary<string, object?>> _scopes = [];
        private long _iterations;

        public Context(IReadOnlyDictionary<string, object?> globals)
        {
            var root = new Dictionary<string, object?>(globals);
            root.TryAdd("raise_exception", new Func<IReadOnlyList<object?>, object?>(args =>
                throw new ChatTemplateException("Chat template raised: " + (args.Count > 0 ? JinjaRuntime.ToText(args[0]) : "error"))));
            root.TryAdd("range", new Func<IReadOnlyList<object?>, object?>(args =>
            {
                long start = args.Count > 1 ? (long)JinjaRuntime.ToDouble(args[0]) : 0;
                long stop = (long)JinjaRuntime.ToDouble(args.Count > 1 ? args[1] : args[0]);
                long step = args.Count > 2 ? (long)JinjaRuntime.ToDouble(args[2]) : 1;
                if (step == 0) throw new ChatTemplateException("Chat template: range() step cannot be zero.");
                double length = Math.Ceiling(((double)stop - start) / step);
                if (length > ChatTemplateLimits.MaxLoopIterations)
                {
                    throw new ChatTemplateException($"Chat template: range() of {length:0} items exceeds the limit of {ChatTemplateLimits.MaxLoopIterations}.");
                }
                var list = new List<object?>();
                for (long i = start; step > 0 ? i < stop : i > stop; i += step) list.Add(i);
                return list;
            }));
            root.TryAdd("namespace", new Func<IReadOnlyList<object?>, object?>(_ => new Dictionary<string, object?>()));
            // Llama 3.1+ templates print today's date.
            root.TryAdd("strftime_now", new Func<IReadOnlyList<object?>, object?>(args => StrFTime(DateTime.Now, args.Count > 0 ? JinjaRuntime.ToText(args[0]) : "%Y-%m-%d")));
            _scopes.Add(root);
        }

        private static string StrFTime(DateTime time, string format)
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
                    'M' => time.ToString("mm", CultureInfo.InvariantCulture),
                    'S' => time.ToString("ss", CultureInfo.InvariantCulture),
                    '%' => "%",
                    _ => "%" + code,
                });
            }
            return sb.ToString();
        }

        public object? Lookup(string name)
        {
            for (int i = _scopes.Count - 1; i >= 0; i--)
            {
                if (_scopes[i].TryGetValue(name, out object? value)) return value;
            }
            return JinjaUndefined.Instance;
        }

        public void Set(string name, object? value) => _scopes[^1][name] = value;

        public void Push() => _scopes.Add([]);

        public void CountIteration()
        {
            if (++_iterations > ChatTemplateLimits.MaxLoopIterations)
            {
                throw new ChatTemplateException($"Chat template: more than {ChatTemplateLimits.MaxLoopIterations} loop iterations in one render.");
            }
        }

        public void CheckOutput(StringBuilder output)
        {
            if (output.Length > ChatTemplateLimits.MaxOutputLength)
            {
                throw new ChatTemplateException($"Chat template: the rendered prompt exceeds {ChatTemplateLimits.MaxOutputLength} characters.");
            }
        }

        public void Pop() => _scopes.RemoveAt(_scopes.Count - 1);
    }

    private abstract class Node
    {
        public abstract void Render(Context context, StringBuilder output);
    }

    private sealed class TextNode(string text) : Node
    {
        public override void Render(Context context, StringBuilder output) => output.Append(text);
    }

    private sealed class OutputNode(Expr expr) : Node
    {
        public override void Render(Context context, StringBuilder output) => output.Append(JinjaRuntime.ToText(expr.Eval(context)));
    }

    private sealed class SetNode(Expr? target, string name, Expr value) : Node
    {
        public override void Render(Context context, StringBuilder output)
        {
            object? v = value.Eval(context);
            if (target is null)
            {
                context.Set(name, v);
            }
            else if (target.Eval(context) is IDictionary<string, object?> ns)
            {
                ns[name] = v;
            }
            else
            {
                throw new ChatTemplateException($"Chat template: cannot set attribute '{name}' on a non-namespace value.");
            }
        }
    }

    private sealed class IfNode(List<(Expr Condition, List<Node> Body)> branches, List<Node>? otherwise) : Node
    {
        public override void Render(Context context, StringBuilder output)
        {
            foreach ((Expr condition, List<Node> body) in branches)
            {
                if (JinjaRuntime.IsTrue(condition.Eval(context)))
                {
                    body.ForEach(n => n.Render(context, output));
                    return;
                }
            }
            otherwise?.ForEach(n => n.Render(context, output));
        }
    }

    private sealed class ForNode(List<string> targets, Expr iterable, Expr? filter, List<Node> body, List<Node>? otherwise) : Node
    {
        public override void Render(Context context, StringBuilder output)
        {
            var items = JinjaRuntime.Iterate(iterable.Eval(context)).ToList();
            if (filter is not null)
            {
                items = items.Where(item =>
                {
                    context.Push();
                    Bind(context, item);
                    bool keep = JinjaRuntime.IsTrue(filter.Eval(context));
                    context.Pop();
                    return keep;
                }).ToList();
            }
            if (items.Count == 0)
            {
                otherwise?.ForEach(n => n.Render(context, output));
                return;
            }
            for (int i = 0; i < items.Count; i++)
            {
                context.CountIteration();
                context.CheckOutput(output);
                context.Push();
                Bind(context, items[i]);
                context.Set("loop", new Dictionary<string, object?>
                {
                    ["index"] = (long)(i + 1),
                    ["index0"] = (long)i,
                    ["revindex"] = (long)(items.Count - i),
                    ["revindex0"] = (long)(items.Count - i - 1),
                    ["first"] = i == 0,
                    ["last"] = i == items.Count - 1,
                    ["length"] = (long)items.Count,
                    ["previtem"] = i > 0 ? items[i - 1] : JinjaUndefined.Instance,
                    ["nextitem"] = i < items.Count - 1 ? items[i + 1] : JinjaUndefined.Instance,
                });
                body.ForEach(n => n.Render(context, output));
                context.Pop();
            }
        }

        private void Bind(Context context, object? item)
        {
            if (targets.Count == 1)
            {
                context.Set(targets[0], item);
                return;
            }
            var parts = JinjaRuntime.Iterate(item).ToList();
            if (parts.Count != targets.Count)
            {
                throw new ChatTemplateException($"Chat template: cannot unpack {parts.Count} values into {targets.Count} loop variables.");
            }
            for (int k = 0; k < targets.Count; k++) context.Set(targets[k], parts[k]);
        }
    }

    private abstract class Expr
    {
        public abstract object? Eval(Context context);
    }

    private sealed class Literal(object? value) : Expr
    {
        public override object? Eval(Context context) => value;
    }

    private sealed class Name(string name) : Expr
    {
        public string Identifier => name;

        public override object? Eval(Context context) => context.Lookup(name);
    }

    private sealed class ListExpr(List<Expr> items) : Expr
    {
        public override object? Eval(Context context) => items.Select(i => i.Eval(context)).ToList();
    }

    private sealed class DictExpr(List<(Expr Key, Expr Value)> items) : Expr
    {
        public override object? Eval(Context context)
            => items.ToDictionary(kv => JinjaRuntime.ToText(kv.Key.Eval(context)), kv => kv.Value.Eval(context));
    }

    private sealed class Attribute(Expr target, string name) : Expr
    {
        public Expr Target => target;

        public string AttributeName => name;

        public override object? Eval(Context context)
        {
            object? value = target.Eval(context);
            return value is IDictionary<string, object?> ? JinjaRuntime.GetItem(value, name)
                : value is null or JinjaUndefined ? throw new ChatTemplateException($"Chat template: cannot read '.{name}' of an undefined value.")
                : JinjaUndefined.Instance;
        }
    }

    private sealed class Index(Expr target, Expr key) : Expr
    {
        public override object? Eval(Context context) => JinjaRuntime.GetItem(target.Eval(context), key.Eval(context));
    }

    private sealed class SliceExpr(Expr target, Expr? start, Expr? stop, Expr? step) : Expr
    {
        public override object? Eval(Context context) => JinjaRuntime.Slice(target.Eval(context), Int(start, context), Int(stop, context), Int(step, context));

        private static long? Int(Expr? e, Context context) => e is null ? null : (long)JinjaRuntime.ToDouble(e.Eval(context));
    }

    private sealed class Call(Expr callee, List<Expr> args, List<(string Name, Expr Value)> kwargs) : Expr
    {
        public override object? Eval(Context context)
        {
            var values = args.Select(a => a.Eval(context)).ToList();
            if (callee is Attribute method)
            {
                object? target = method.Target.Eval(context);
                if (target is not IDictionary<string, object?> map || !map.ContainsKey(method.AttributeName))
                {
                    return JinjaRuntime.CallMethod(target, method.AttributeName, values);
                }
            }
            if (callee is Name { Identifier: "namespace" } && context.Lookup("namespace") is Func<IReadOnlyList<object?>, object?>)
            {
                // namespace(a=1, b=2): a mutable mapping that {% set ns.a = ... %} can write from inside loops.
                return kwargs.ToDictionary(k => k.Name, k => k.Value.Eval(context));
            }
            object? function = callee.Eval(context);
            if (function is Func<IReadOnlyList<object?>, object?> f)
            {
                values.AddRange(kwargs.Select(k => k.Value.Eval(context)));
                return f(values);
            }
            throw new ChatTemplateException($"Chat template: {(callee is Name n ? "'" + n.Identifier + "'" : "value")} is not callable.");
        }
    }

    private sealed class FilterExpr(Expr value, string name, List<Expr> args, List<(string Name, Expr Value)> kwargs) : Expr
    {
        public override object? Eval(Context context)
            => JinjaRuntime.Filter(name, value.Eval(context), args.Select(a => a.Eval(context)).ToList(), kwargs.ToDictionary(k => k.Name, k => k.Value.Eval(context)));
    }

    private sealed class TestExpr(Expr value, string name, List<Expr> args, bool negate) : Expr
    {
        public override object? Eval(Context context) => JinjaRuntime.Test(name, value.Eval(context), args.Select(a => a.Eval(context)).ToList()) != negate;
    }

    private sealed class Unary(string op, Expr operand) : Expr
    {
        public override object? Eval(Context context)
        {
            object? v = operand.Eval(context);
            return op switch
            {
                "not" => !JinjaRuntime.IsTrue(v),
                "-" => v is long l ? -l : -JinjaRuntime.ToDouble(v),
                _ => v,
            };
        }
    }

    private sealed class Binary(string op, Expr left, Expr right) : Expr
    {
        public override object? Eval(Context context)
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
            object? x = left.Eval(context), y = right.Eval(context);
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

    private sealed class Conditional(Expr condition, Expr then, Expr? otherwise) : Expr
    {
        public override object? Eval(Context context)
            => JinjaRuntime.IsTrue(condition.Eval(context)) ? then.Eval(context) : otherwise?.Eval(context) ?? JinjaUndefined.Instance;
    }

    private sealed class Parser(List<Segment> segments)
    {
        private int _position;
        private int _depth;

        public List<Node> ParseBlock(out string? terminator, params string[] terminators)
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

        private List<Node> ParseBlockBody(out string? terminator, string[] terminators)
        {
            var nodes = new List<Node>();
            while (_position < segments.Count)
            {
                Segment segment = segments[_position++];
                switch (segment.Kind)
                {
                    case SegmentKind.Text:
                        nodes.Add(new TextNode(segment.Content));
                        break;
                    case SegmentKind.Output:
                        var exprTokens = new TokenStream(JinjaLexer.Tokenize(segment.Content, segment.Offset));
                        nodes.Add(new OutputNode(exprTokens.ParseExpression()));
                        exprTokens.ExpectEnd();
                        break;
                    default:
                        var tokens = new TokenStream(JinjaLexer.Tokenize(segment.Content, segment.Offset));
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

        private Node ParseStatement(string keyword, TokenStream tokens, Segment segment)
        {
            switch (keyword)
            {
                case "if":
                {
                    var branches = new List<(Expr, List<Node>)>();
                    Expr condition = tokens.ParseExpression();
                    tokens.ExpectEnd();
                    List<Node>? otherwise = null;
                    while (true)
                    {
                        List<Node> body = ParseBlock(out string? end, "elif", "else", "endif");
                        branches.Add((condition, body));
                        TokenStream next = Resume(end, segment, "endif");
                        if (end == "elif")
                        {
                            condition = next.ParseExpression();
                            next.ExpectEnd();
                            continue;
                        }
                        next.ExpectEnd();
                        if (end == "else")
                        {
                            otherwise = ParseBlock(out string? endif, "endif");
                            Resume(endif, segment, "endif").ExpectEnd();
                        }
                        return new IfNode(branches, otherwise);
                    }
                }
                case "for":
                {
                    var targets = new List<string> { tokens.ExpectName() };
                    while (tokens.TryOperator(",")) targets.Add(tokens.ExpectName());
                    tokens.ExpectKeyword("in");
                    Expr iterable = tokens.ParseOr();
                    Expr? filter = tokens.TryKeyword("if") ? tokens.ParseOr() : null;
                    tokens.ExpectEnd();
                    List<Node> body = ParseBlock(out string? end, "else", "endfor");
                    Resume(end, segment, "endfor").ExpectEnd();
                    List<Node>? otherwise = null;
                    if (end == "else")
                    {
                        otherwise = ParseBlock(out string? endfor, "endfor");
                        Resume(endfor, segment, "endfor").ExpectEnd();
                    }
                    return new ForNode(targets, iterable, filter, body, otherwise);
                }
                case "set":
                {
                    string name = tokens.ExpectName();
                    Expr? target = null;
                    if (tokens.TryOperator("."))
                    {
                        target = new Name(name);
                        name = tokens.ExpectName();
                    }
                    tokens.ExpectOperator("=");
                    Expr value = tokens.ParseExpression();
                    tokens.ExpectEnd();
                    return new SetNode(target, name, value);
                }
                case "generation":
                {
                    // Hugging Face's assistant-mask marker: renders its body unchanged.
                    List<Node> body = ParseBlock(out string? end, "endgeneration");
                    Resume(end, segment, "endgeneration").ExpectEnd();
                    return new IfNode([(new Literal(true), body)], null);
                }
                case "elif" or "else" or "endif" or "endfor" or "endset" or "endgeneration":
                    throw new ChatTemplateException($"Chat template: unexpected '{{% {keyword} %}}' at offset {segment.Offset} (no block is open).");
                default:
                    throw new ChatTemplateException($"Chat template: unsupported statement '{{% {keyword} %}}' at offset {segment.Offset}.");
            }
        }

        private TokenStream Resume(string? terminator, Segment opener, string expected)
        {
            if (terminator is null)
            {
                throw new ChatTemplateException($"Chat template: the block opened at offset {opener.Offset} is missing '{{% {expected} %}}'.");
            }
            Segment segment = segments[_position++];
            var tokens = new TokenStream(JinjaLexer.Tokenize(segment.Content, segment.Offset));
            tokens.ExpectName();
            return tokens;
        }
    }

    private sealed class TokenStream(List<Token> tokens)
    {
        private int _index;
        private int _depth;

        private Token Peek => tokens[_index];

        public void ExpectEnd()
        {
            if (Peek.Kind != TokenKind.End) throw Error($"unexpected '{Peek.Text}'");
        }

        public string ExpectName()
        {
            Token t = tokens[_index];
            if (t.Kind != TokenKind.Name) throw Error($"expected a name, found '{t.Text}'");
            _index++;
            return t.Text;
        }

        public void ExpectKeyword(string keyword)
        {
            if (!TryKeyword(keyword)) throw Error($"expected '{keyword}', found '{Peek.Text}'");
        }

        public bool TryKeyword(string keyword)
        {
            if (Peek.Kind == TokenKind.Name && Peek.Text == keyword)
            {
                _index++;
                return true;
            }
            return false;
        }

        public void ExpectOperator(string op)
        {
            if (!TryOperator(op)) throw Error($"expected '{op}', found '{Peek.Text}'");
        }

        public bool TryOperator(string op)
        {
            if (Peek.Kind == TokenKind.Operator && Peek.Text == op)
            {
                _index++;
                return true;
            }
            return false;
        }

        private ChatTemplateException Error(string message) => new($"Chat template: {message} at offset {Peek.Offset}.");

        public Expr ParseExpression() => Nested(ParseExpressionBody);

        private Expr Nested(Func<Expr> parse)
        {
            if (++_depth > ChatTemplateLimits.MaxNestingDepth)
            {
                throw Error($"expression nested deeper than {ChatTemplateLimits.MaxNestingDepth}");
            }
            try
            {
                return parse();
            }
            finally
            {
                _depth--;
            }
        }

        private Expr ParseExpressionBody()
        {
            Expr value = ParseOr();
            if (TryKeyword("if"))
            {
                Expr condition = ParseOr();
                Expr? otherwise = TryKeyword("else") ? ParseExpression() : null;
                return new Conditional(condition, value, otherwise);
            }
            return value;
        }

        public Expr ParseOr()
        {
            Expr left = ParseAnd();
            while (TryKeyword("or")) left = new Binary("or", left, ParseAnd());
            return left;
        }

        private Expr ParseAnd()
        {
            Expr left = ParseNot();
            while (TryKeyword("and")) left = new Binary("and", left, ParseNot());
            return left;
        }

        private Expr ParseNot() => TryKeyword("not") ? new Unary("not", Nested(ParseNot)) : ParseCompare();

        private Expr ParseCompare()
        {
            Expr left = ParseMath1();
            while (true)
            {
                if (Peek.Kind == TokenKind.Operator && Peek.Text is "==" or "!=" or "<" or ">" or "<=" or ">=")
                {
                    string op = tokens[_index++].Text;
                    left = new Binary(op, left, ParseMath1());
                }
                else if (TryKeyword("in"))
                {
                    left = new Binary("in", left, ParseMath1());
                }
                else if (Peek.Kind == TokenKind.Name && Peek.Text == "not" && tokens[_index + 1].Text == "in")
                {
                    _index += 2;
                    left = new Binary("not in", left, ParseMath1());
                }
                else
                {
                    return left;
                }
            }
        }

        private Expr ParseMath1()
        {
            Expr left = ParseConcat();
            while (Peek.Kind == TokenKind.Operator && Peek.Text is "+" or "-")
            {
                string op = tokens[_index++].Text;
                left = new Binary(op, left, ParseConcat());
            }
            return left;
        }

        private Expr ParseConcat()
        {
            Expr left = ParseMath2();
            while (TryOperator("~")) left = new Binary("~", left, ParseMath2());
            return left;
        }

        private Expr ParseMath2()
        {
            Expr left = ParseUnary();
            while (Peek.Kind == TokenKind.Operator && Peek.Text is "*" or "/" or "//" or "%" or "**")
            {
                string op = tokens[_index++].Text;
                left = new Binary(op, left, ParseUnary());
            }
            return left;
        }

        private Expr ParseUnary()
        {
            if (TryOperator("-")) return new Unary("-", Nested(ParseUnary));
            if (TryOperator("+")) return Nested(ParseUnary);
            Expr value = ParsePostfix(ParsePrimary());
            while (true)
            {
                if (TryOperator("|"))
                {
                    string name = ExpectName();
                    (List<Expr> args, List<(string, Expr)> kwargs) = TryOperator("(") ? ParseArguments() : ([], []);
                    value = ParsePostfix(new FilterExpr(value, name, args, kwargs));
                }
                else if (TryKeyword("is"))
                {
                    bool negate = TryKeyword("not");
                    string name = ExpectName();
                    var args = new List<Expr>();
                    if (TryOperator("(")) args = ParseArguments().Args;
                    else if (Peek.Kind is TokenKind.String or TokenKind.Integer or TokenKind.Float) args.Add(ParsePrimary());
                    value = new TestExpr(value, name, args, negate);
                }
                else
                {
                    return value;
                }
            }
        }

        private Expr ParsePrimary()
        {
            Token t = tokens[_index++];
            switch (t.Kind)
            {
                case TokenKind.String:
                    string text = t.Text;
                    while (Peek.Kind == TokenKind.String) text += tokens[_index++].Text;
                    return new Literal(text);
                case TokenKind.Integer:
                    return new Literal(long.Parse(t.Text, CultureInfo.InvariantCulture));
                case TokenKind.Float:
                    return new Literal(double.Parse(t.Text, CultureInfo.InvariantCulture));
                case TokenKind.Name:
                    return t.Text switch
                    {
                        "true" or "True" => new Literal(true),
                        "false" or "False" => new Literal(false),
                        "none" or "None" => new Literal(null),
                        _ => new Name(t.Text),
                    };
                case TokenKind.Operator when t.Text == "(":
                    Expr inner = ParseExpression();
                    if (TryOperator(","))
                    {
                        var items = new List<Expr> { inner };
                        while (!TryOperator(")"))
                        {
                            items.Add(ParseExpression());
                            if (!TryOperator(",")) { ExpectOperator(")"); break; }
                        }
                        return new ListExpr(items);
                    }
                    ExpectOperator(")");
                    return inner;
                case TokenKind.Operator when t.Text == "[":
                    var list = new List<Expr>();
                    while (!TryOperator("]"))
                    {
                        list.Add(ParseExpression());
                        if (!TryOperator(",")) { ExpectOperator("]"); break; }
                    }
                    return new ListExpr(list);
                case TokenKind.Operator when t.Text == "{":
                    var pairs = new List<(Expr, Expr)>();
                    while (!TryOperator("}"))
                    {
                        Expr key = ParseExpression();
                        ExpectOperator(":");
                        pairs.Add((key, ParseExpression()));
                        if (!TryOperator(",")) { ExpectOperator("}"); break; }
                    }
                    return new DictExpr(pairs);
                default:
                    _index--;
                    throw Error($"unexpected '{(t.Kind == TokenKind.End ? "end of expression" : t.Text)}'");
            }
        }

        private Expr ParsePostfix(Expr value)
        {
            while (true)
            {
                if (TryOperator("."))
                {
                    Token t = tokens[_index];
                    if (t.Kind == TokenKind.Integer)
                    {
                        _index++;
                        value = new Index(value, new Literal(long.Parse(t.Text, CultureInfo.InvariantCulture)));
                    }
                    else
                    {
                        value = new Attribute(value, ExpectName());
                    }
                }
                else if (TryOperator("["))
                {
                    Expr? start = Peek.Text == ":" ? null : ParseExpression();
                    if (TryOperator(":"))
                    {
                        Expr? stop = Peek.Text is ":" or "]" ? null : ParseExpression();
                        Expr? step = TryOperator(":") && Peek.Text != "]" ? ParseExpression() : null;
                        ExpectOperator("]");
                        value = new SliceExpr(value, start, stop, step);
                    }
                    else
                    {
                        ExpectOperator("]");
                        value = new Index(value, start!);
                    }
                }
                else if (TryOperator("("))
                {
                    (List<Expr> args, List<(string, Expr)> kwargs) = ParseArguments();
                    value = new Call(value, args, kwargs);
                }
                else
                {
                    return value;
                }
            }
        }

        private (List<Expr> Args, List<(string Name, Expr Value)> Kwargs) ParseArguments()
        {
            var args = new List<Expr>();
            var kwargs = new List<(string, Expr)>();
            while (!TryOperator(")"))
            {
                if (Peek.Kind == TokenKind.Name && tokens[_index + 1].Text == "=")
                {
                    string name = tokens[_index].Text;
                    _index += 2;
                    kwargs.Add((name, ParseExpression()));
                }
                else
                {
                    args.Add(ParseExpression());
                }
                if (!TryOperator(",")) { ExpectOperator(")"); break; }
            }
            return (args, kwargs);
        }
    }
}
