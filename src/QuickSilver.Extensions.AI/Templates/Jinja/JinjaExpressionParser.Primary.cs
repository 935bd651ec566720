using System.Globalization;
using static QuickSilver.Extensions.AI.Templates.Jinja.JinjaLexer;

namespace QuickSilver.Extensions.AI.Templates.Jinja;

/// <summary>Primary expressions (literals, names, list/tuple/dict displays) and postfix access: <c>.name</c>, <c>[i]</c>, <c>[a:b:c]</c>, calls.</summary>
internal sealed partial class JinjaExpressionParser
{
    private JinjaExpr ParsePrimary()
    {
        Token t = tokens[_index++];
        switch (t.Kind)
        {
            case TokenKind.String:
                string text = t.Text;
                while (Peek.Kind == TokenKind.String) text += tokens[_index++].Text;
                return new LiteralExpr(text);
            case TokenKind.Integer:
                return new LiteralExpr(long.TryParse(t.Text, NumberStyles.None, CultureInfo.InvariantCulture, out long l) ? l
                    : throw new ChatTemplateException($"Chat template: integer literal {t.Text} is too large at offset {t.Offset}."));
            case TokenKind.Float:
                return new LiteralExpr(double.Parse(t.Text, CultureInfo.InvariantCulture));
            case TokenKind.Name:
                return t.Text switch
                {
                    "true" or "True" => new LiteralExpr(true),
                    "false" or "False" => new LiteralExpr(false),
                    "none" or "None" => new LiteralExpr(null),
                    _ => Reference(t.Text),
                };
            case TokenKind.Operator when t.Text == "(":
                if (TryOperator(")")) return new ListExpr([]);
                JinjaExpr inner = ParseExpression();
                if (TryOperator(","))
                {
                    var items = new List<JinjaExpr> { inner };
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
                var list = new List<JinjaExpr>();
                while (!TryOperator("]"))
                {
                    list.Add(ParseExpression());
                    if (!TryOperator(",")) { ExpectOperator("]"); break; }
                }
                return new ListExpr(list);
            case TokenKind.Operator when t.Text == "{":
                var pairs = new List<(JinjaExpr, JinjaExpr)>();
                while (!TryOperator("}"))
                {
                    JinjaExpr key = ParseExpression();
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

    private NameExpr Reference(string name)
    {
        referencedNames?.Add(name);
        return new NameExpr(name);
    }

    private JinjaExpr ParsePostfix(JinjaExpr value)
    {
        while (true)
        {
            if (TryOperator("."))
            {
                Token t = tokens[_index];
                if (t.Kind == TokenKind.Integer)
                {
                    _index++;
                    value = new IndexExpr(value, new LiteralExpr(long.Parse(t.Text, CultureInfo.InvariantCulture)));
                }
                else
                {
                    value = new AttributeExpr(value, ExpectName());
                }
            }
            else if (TryOperator("["))
            {
                JinjaExpr? start = IsOperator(":") ? null : ParseExpression();
                if (TryOperator(":"))
                {
                    JinjaExpr? stop = IsOperator(":") || IsOperator("]") ? null : ParseExpression();
                    JinjaExpr? step = TryOperator(":") && !IsOperator("]") ? ParseExpression() : null;
                    ExpectOperator("]");
                    value = new SliceExpr(value, start, stop, step);
                }
                else
                {
                    ExpectOperator("]");
                    value = new IndexExpr(value, start!);
                }
            }
            else if (TryOperator("("))
            {
                (List<JinjaExpr> args, List<(string, JinjaExpr)> kwargs) = ParseArguments();
                value = new CallExpr(value, args, kwargs);
            }
            else
            {
                return value;
            }
        }
    }

    public (List<JinjaExpr> Args, List<(string Name, JinjaExpr Value)> Kwargs) ParseArguments()
    {
        var args = new List<JinjaExpr>();
        var kwargs = new List<(string, JinjaExpr)>();
        while (!TryOperator(")"))
        {
            if (Peek.Kind == TokenKind.Name && PeekAt(1).Text == "=" && PeekAt(1).Kind == TokenKind.Operator)
            {
                string name = tokens[_index].Text;
                _index += 2;
                kwargs.Add((name, ParseExpression()));
            }
            else
            {
                if (kwargs.Count > 0) throw Error("positional argument follows keyword argument");
                args.Add(ParseExpression());
            }
            if (!TryOperator(",")) { ExpectOperator(")"); break; }
        }
        return (args, kwargs);
    }
}
