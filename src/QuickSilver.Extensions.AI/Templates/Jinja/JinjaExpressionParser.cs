using System.Globalization;
using static QuickSilver.Extensions.AI.Templates.Jinja.JinjaLexer;

namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>
/// Parses the tokens of one tag into expressions with Jinja2's precedence: conditional, or, and, not, comparisons and
/// <c>in</c>, + -, ~, * / // %, **, unary minus, then filters and tests over postfix access and calls. Filters and tests
/// are looked up here, so an unsupported one fails when the template is loaded.
/// </summary>
internal sealed partial class JinjaExpressionParser(List<Token> tokens, HashSet<string>? referencedNames = null)
{
    private static readonly HashSet<string> NamedFilterArguments = ["map", "select", "reject", "selectattr", "rejectattr"];
    private int _index;
    private int _depth;

    public Token Peek => tokens[_index];

    public Token PeekAt(int offset) => tokens[Math.Min(_index + offset, tokens.Count - 1)];

    public bool AtEnd => Peek.Kind == TokenKind.End;

    public bool IsOperator(string op) => Peek.Kind == TokenKind.Operator && Peek.Text == op;

    public void ExpectEnd()
    {
        if (Peek.Kind != TokenKind.End) throw Error($"unexpected '{Peek.Text}'");
    }

    public string ExpectName()
    {
        Token t = tokens[_index];
        if (t.Kind != TokenKind.Name) throw Error($"expected a name, found '{(t.Kind == TokenKind.End ? "end of tag" : t.Text)}'");
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
        if (!TryOperator(op)) throw Error($"expected '{op}', found '{(Peek.Kind == TokenKind.End ? "end of tag" : Peek.Text)}'");
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

    public ChatTemplateException Error(string message) => new($"Chat template: {message} at offset {Peek.Offset}.");

    public JinjaExpr ParseExpression() => Nested(ParseConditional);

    /// <summary>An expression, or a tuple of them separated by commas (<c>{% set a = 1, 2 %}</c>).</summary>
    public JinjaExpr ParseTuple()
    {
        JinjaExpr first = ParseExpression();
        if (!IsOperator(",")) return first;
        var items = new List<JinjaExpr> { first };
        while (TryOperator(",") && !AtEnd) items.Add(ParseExpression());
        return new ListExpr(items);
    }

    private JinjaExpr Nested(Func<JinjaExpr> parse)
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

    private JinjaExpr ParseConditional()
    {
        JinjaExpr value = ParseOr();
        if (TryKeyword("if"))
        {
            JinjaExpr condition = ParseOr();
            JinjaExpr? otherwise = TryKeyword("else") ? ParseExpression() : null;
            return new ConditionalExpr(condition, value, otherwise);
        }
        return value;
    }

    public JinjaExpr ParseOr()
    {
        JinjaExpr left = ParseAnd();
        while (TryKeyword("or")) left = new BinaryExpr("or", left, ParseAnd());
        return left;
    }

    private JinjaExpr ParseAnd()
    {
        JinjaExpr left = ParseNot();
        while (TryKeyword("and")) left = new BinaryExpr("and", left, ParseNot());
        return left;
    }

    private JinjaExpr ParseNot() => TryKeyword("not") ? new UnaryExpr("not", Nested(ParseNot)) : ParseCompare();

    // Python chains comparisons: "a < b < c" is "a < b and b < c" with b evaluated once.
    private JinjaExpr ParseCompare()
    {
        JinjaExpr first = ParseMath1();
        var operands = new List<JinjaExpr> { first };
        var ops = new List<string>();
        while (true)
        {
            if (Peek.Kind == TokenKind.Operator && Peek.Text is "==" or "!=" or "<" or ">" or "<=" or ">=")
            {
                ops.Add(tokens[_index++].Text);
            }
            else if (TryKeyword("in"))
            {
                ops.Add("in");
            }
            else if (Peek.Kind == TokenKind.Name && Peek.Text == "not" && PeekAt(1).Kind == TokenKind.Name && PeekAt(1).Text == "in")
            {
                _index += 2;
                ops.Add("not in");
            }
            else
            {
                break;
            }
            operands.Add(ParseMath1());
        }
        return ops.Count switch
        {
            0 => first,
            1 => new BinaryExpr(ops[0], operands[0], operands[1]),
            _ => new ComparisonChainExpr(operands, ops),
        };
    }

    private JinjaExpr ParseMath1()
    {
        JinjaExpr left = ParseConcat();
        while (Peek.Kind == TokenKind.Operator && Peek.Text is "+" or "-")
        {
            string op = tokens[_index++].Text;
            left = new BinaryExpr(op, left, ParseConcat());
        }
        return left;
    }

    private JinjaExpr ParseConcat()
    {
        JinjaExpr left = ParseMath2();
        while (TryOperator("~")) left = new BinaryExpr("~", left, ParseMath2());
        return left;
    }

    private JinjaExpr ParseMath2()
    {
        JinjaExpr left = ParsePow();
        while (Peek.Kind == TokenKind.Operator && Peek.Text is "*" or "/" or "//" or "%")
        {
            string op = tokens[_index++].Text;
            left = new BinaryExpr(op, left, ParsePow());
        }
        return left;
    }

    private JinjaExpr ParsePow()
    {
        JinjaExpr left = ParseUnary(withFilter: true);
        while (TryOperator("**")) left = new BinaryExpr("**", left, ParseUnary(withFilter: true));
        return left;
    }

    // As Jinja2: "-x|abs" negates first, then filters the result.
    private JinjaExpr ParseUnary(bool withFilter)
    {
        JinjaExpr value;
        if (TryOperator("-")) value = new UnaryExpr("-", Nested(() => ParseUnary(withFilter: false)));
        else if (TryOperator("+")) value = new UnaryExpr("+", Nested(() => ParseUnary(withFilter: false)));
        else value = ParsePostfix(ParsePrimary());
        return withFilter ? ParseFilters(value) : value;
    }

    private JinjaExpr ParseFilters(JinjaExpr value)
    {
        while (true)
        {
            if (TryOperator("|"))
            {
                value = ParseFilter(value);
            }
            else if (TryKeyword("is"))
            {
                bool negate = TryKeyword("not");
                int offset = Peek.Offset;
                string name = ExpectName();
                JinjaTest test = Bind(() => JinjaTests.Get(name), offset);
                var args = new List<JinjaExpr>();
                if (TryOperator("(")) args = ParseArguments().Args;
                else if (StartsTestArgument()) args.Add(ParsePostfix(ParsePrimary()));
                value = new TestExpr(value, test, args, negate);
            }
            else
            {
                return value;
            }
        }
    }

    /// <summary>Parses <c>name(args)</c> after a "|" (also used by filter blocks and <c>set</c> blocks).</summary>
    public JinjaExpr ParseFilter(JinjaExpr value)
    {
        int offset = Peek.Offset;
        string name = ExpectName();
        while (IsOperator(".") && PeekAt(1).Kind == TokenKind.Name)
        {
            _index++;
            name += "." + ExpectName();
        }
        JinjaFilter filter = Bind(() => JinjaFilters.Get(name), offset);
        (List<JinjaExpr> args, List<(string, JinjaExpr)> kwargs) = TryOperator("(") ? ParseArguments() : ([], []);
        if (NamedFilterArguments.Contains(name)) CheckNamedArgument(name, args, offset);
        return new FilterExpr(value, filter, args, kwargs);
    }

    // select('equalto', …) and map('upper') name a test or filter by string: check it now, like the filter itself.
    private static void CheckNamedArgument(string filter, List<JinjaExpr> args, int offset)
    {
        int at = filter is "selectattr" or "rejectattr" ? 1 : 0;
        if (at < args.Count && args[at] is LiteralExpr { Value: string name })
        {
            Bind(() => filter == "map" ? JinjaFilters.Get(name) : (object)JinjaTests.Get(name), offset);
        }
    }

    private static T Bind<T>(Func<T> lookup, int offset)
    {
        try
        {
            return lookup();
        }
        catch (ChatTemplateException ex)
        {
            throw new ChatTemplateException(ex.Message.TrimEnd('.') + $" at offset {offset}.");
        }
    }

    private bool StartsTestArgument()
    {
        Token t = Peek;
        if (t.Kind is TokenKind.String or TokenKind.Integer or TokenKind.Float) return true;
        if (t.Kind == TokenKind.Operator) return t.Text is "[" or "{";
        return t.Kind == TokenKind.Name && t.Text is not ("else" or "or" or "and" or "if" or "is" or "in" or "not");
    }
}
