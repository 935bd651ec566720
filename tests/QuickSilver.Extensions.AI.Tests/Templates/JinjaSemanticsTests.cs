using System.Text.Json;
using QuickSilver.Extensions.AI.Templates;

namespace QuickSilver.Extensions.AI.Tests.Templates;

/// <summary>
/// Jinja2 semantics as transformers configures them (trim_blocks, lstrip_blocks, loopcontrols, HF tojson), checked
/// construct by construct. Expected outputs are what Python Jinja2 3.1 prints for the same template and variables.
/// </summary>
public sealed class JinjaSemanticsTests
{
    private const string Vars = """
        {
          "xs": [3, 1, 2],
          "words": ["b", "A", "c", "a"],
          "users": [{"name": "ann", "age": 31, "admin": true}, {"name": "bob", "age": 25, "admin": false}, {"name": "cy", "age": 40}],
          "d": {"b": 1, "a": [1, 2], "c": "é\"x"},
          "s": "  Hello World  ",
          "n": null,
          "f": 1.0,
          "big": 1e16,
          "neg": -1,
          "text": "a,b,,c"
        }
        """;

    private static string Render(string source)
    {
        using JsonDocument doc = JsonDocument.Parse(Vars);
        return new JinjaChatTemplate(source).Render(doc.RootElement);
    }

    [Theory]
    // Numbers print as Python prints them.
    [InlineData("{{ -1 }}|{{ neg }}|{{ 1.0 }}|{{ f }}|{{ 10 / 4 }}|{{ 10 // 4 }}|{{ -7 // 2 }}|{{ -7 % 3 }}|{{ 2 ** 10 }}", "-1|-1|1.0|1.0|2.5|2|-4|2|1024")]
    [InlineData("{{ big }}|{{ 0.1 + 0.2 }}|{{ 1e-5 * 1 }}|{{ 3 * 1.5 }}", "1e+16|0.30000000000000004|1e-05|4.5")]
    [InlineData("{{ true }}|{{ n }}|{{ xs }}|{{ d }}|{{ undefined_name }}", "True|None|[3, 1, 2]|{'b': 1, 'a': [1, 2], 'c': 'é\"x'}|")]
    // Indexing and slicing, negative included.
    [InlineData("{{ xs[-1] }}|{{ xs[1:] }}|{{ xs[::-1] }}|{{ xs[:-1] }}|{{ 'abc'[-2:] }}|{{ xs[5] is defined }}|{{ xs.0 }}", "2|[1, 2]|[2, 1, 3]|[3, 1]|bc|False|3")]
    // Strings count code points, as Python does (an emoji is one character).
    [InlineData("{{ '😀a' | length }}|{{ '😀a'[0] }}|{{ 'a😀b'[::-1] }}|{{ '😀ab'[1:] }}|{{ 'x😀' | list }}|{{ 'a😀' | reverse }}", "2|😀|b😀a|ab|['x', '😀']|😀a")]
    // Loop controls and loop variables.
    [InlineData("{% for x in xs %}{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% endfor %}", "32")]
    [InlineData("{% for x in xs %}{% if loop.index > 2 %}{% break %}{% endif %}{{ x }}{% endfor %}", "31")]
    [InlineData("{% for x in xs %}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.cycle('a','b') }} {% endfor %}", "03TrueFalse3a 12FalseFalse3b 21FalseTrue3a ")]
    [InlineData("{% for x in xs %}{{ loop.previtem | default('-') }}{{ loop.nextitem | default('-') }},{% endfor %}", "-1,32,1-,")]
    [InlineData("{% for x in xs if x > 1 %}{{ x }}{{ loop.length }}{% else %}none{% endfor %}|{% for x in [] %}x{% else %}empty{% endfor %}", "3222|empty")]
    [InlineData("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", "b=1;a=[1, 2];c=é\"x;")]
    [InlineData("{% for k in d %}{{ k }}{% endfor %}|{{ d.keys() | list }}|{{ d.values() | list | length }}|{{ d.get('zz', 'dflt') }}|{{ d.get('zz') }}", "bac|['b', 'a', 'c']|3|dflt|None")]
    // Scoping: set in a loop does not leak; namespace carries state out.
    [InlineData("{% set x = 1 %}{% for i in xs %}{% set x = i %}{% endfor %}{{ x }}|{% set ns = namespace(t=0) %}{% for i in xs %}{% set ns.t = ns.t + i %}{% endfor %}{{ ns.t }}", "1|6")]
    [InlineData("{% set a, b = [1, 2] %}{{ a }}{{ b }}|{% set blk %}in{{ 1 + 1 }}{% endset %}{{ blk }}|{% set up | upper %}shout{% endset %}{{ up }}", "12|in2|SHOUT")]
    // Macros and call blocks.
    [InlineData("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('x') }} {{ greet('y', punct='?') }} {{ greet(name='z') }}", "Hi x! Hi y? Hi z!")]
    [InlineData("{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold{% endcall %}", "<b>bold</b>")]
    [InlineData("{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1) | int }}{% endif %}{% endmacro %}{{ fact(5) }}", "120")]
    [InlineData("{% macro row(x) %}{{ x }}{% endmacro %}{% call(v) row(1) %}{{ v }}{% endcall %}|{% filter upper %}abc{% endfilter %}", "1|ABC")]
    // String methods.
    [InlineData("{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ 'xxhixx'.strip('x') }}|{{ s.strip().lower() }}|{{ s.strip().upper() }}", "Hello World|Hello World  |  Hello World|hi|hello world|HELLO WORLD")]
    [InlineData("{{ text.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ s.strip().startswith('Hell') }}|{{ s.endswith(('x', '  ')) }}", "['a', 'b', '', 'c']|['a', 'b']|['a', 'b c']|True|True")]
    [InlineData("{{ 'hello world'.title() }}|{{ \"they're\".title() }}|{{ 'aXb'.replace('X', '-') }}|{{ 'abc'.capitalize() }}|{{ '{}-{}'.format(1, 'a') }}|{{ 'x=%s' % 5 }}", "Hello World|They'Re|a-b|Abc|1-a|x=5")]
    // Operators: in, ~, comparisons, conditional expressions.
    [InlineData("{{ 1 in xs }}|{{ 'a' in d }}|{{ 'ell' in s }}|{{ 5 not in xs }}|{{ 'a' ~ 1 ~ none }}|{{ 'y' if n is none else 'n' }}|{{ 'x' if false }}", "True|True|True|True|a1None|y|")]
    [InlineData("{{ [1, 2] == [1, 2] }}|{{ 1 == 1.0 }}|{{ true == 1 }}|{{ undefined_name == none }}|{{ 'b' > 'a' }}|{{ [1, 2] < [1, 3] }}", "True|True|True|False|True|True")]
    // Python chains comparisons; string literals take Python's escapes.
    [InlineData("{{ 1 < 2 < 3 }}|{{ 3 > 2 > 2 }}|{{ 1 < 3 > 2 }}|{{ 1 == 1 in xs }}|{{ 0 < neg < 5 }}", "True|False|True|True|False")]
    [InlineData("{{ '\\x41\\u00e9\\U0001F600\\101\\t|\\q' }}", "Aé😀A\t|\\q")]
    // Filters.
    [InlineData("{{ users | selectattr('admin') | map(attribute='name') | join(',') }}|{{ users | rejectattr('admin') | map(attribute='name') | list }}", "ann|['bob', 'cy']")]
    [InlineData("{{ users | selectattr('age', 'gt', 30) | map(attribute='name') | join }}|{{ users | selectattr('name', 'equalto', 'bob') | list | length }}|{{ users | map(attribute='admin', default='?') | list }}", "anncy|1|[True, False, '?']")]
    [InlineData("{{ xs | select('odd') | list }}|{{ xs | reject('odd') | list }}|{{ words | map('upper') | join }}|{{ xs | sort | list }}|{{ words | sort | join }}|{{ xs | sort(reverse=true) | first }}", "[3, 1]|[2]|BACA|[1, 2, 3]|Aabc|3")]
    [InlineData("{{ words | unique | list }}|{{ xs | max }}|{{ xs | min }}|{{ xs | sum }}|{{ users | sum(attribute='age') }}|{{ xs | last }}|{{ xs | length }}|{{ xs | count }}", "['b', 'A', 'c']|3|1|6|96|2|3|3")]
    [InlineData("{{ d | tojson }}|{{ d | tojson(indent=2) }}", "{\"b\": 1, \"a\": [1, 2], \"c\": \"é\\\"x\"}|{\n  \"b\": 1,\n  \"a\": [\n    1,\n    2\n  ],\n  \"c\": \"é\\\"x\"\n}")]
    [InlineData("{{ d | tojson(ensure_ascii=true, sort_keys=true) }}|{{ [] | tojson(indent=2) }}|{{ 'x' | tojson }}|{{ 1.5 | tojson }}", "{\"a\": [1, 2], \"b\": 1, \"c\": \"\\u00e9\\\"x\"}|[]|\"x\"|1.5")]
    [InlineData("{{ d | items | list | first }}|{{ d | dictsort | first }}|{{ '3' | int + 1 }}|{{ 'x' | int }}|{{ '2.5' | float }}|{{ 2.567 | round(2) }}|{{ 2.5 | round }}|{{ 7 | string }}", "['b', 1]|['a', [1, 2]]|4|0|2.5|2.57|2.0|7")]
    [InlineData("{{ s | trim }}|{{ 'hello' | capitalize }}|{{ 'ab' | upper }}|{{ 'AB' | lower }}|{{ 'a-b' | replace('-', '+') }}|{{ 'x' | safe }}|{{ undefined_name | default('dv') }}|{{ '' | default('e', true) }}", "Hello World|Hello|AB|ab|a+b|x|dv|e")]
    [InlineData("{{ 'a\nb\n\nc' | indent(2) }}|{{ 'a\nb' | indent(2, first=true) }}|{{ -3 | abs }}|{{ 'one two' | wordcount }}|{{ [1,2,3,4,5] | batch(2) | list }}", "a\n  b\n\n  c|  a\n  b|3|2|[[1, 2], [3, 4], [5]]")]
    // Tests.
    [InlineData("{{ 'x' is string }}{{ d is mapping }}{{ xs is sequence }}{{ xs is iterable }}{{ n is none }}{{ 1 is number }}{{ 1 is integer }}{{ 1.0 is integer }}{{ true is boolean }}", "TrueTrueTrueTrueTrueTrueTrueFalseTrue")]
    [InlineData("{{ d is sequence }}{{ 'x' is mapping }}{{ 3 is odd }}{{ 4 is even }}{{ 3 is divisibleby 3 }}{{ 1 is in xs }}{{ 2 is eq 2 }}{{ 2 is ne 2 }}{{ undefined_name is undefined }}{{ n is defined }}", "TrueFalseTrueTrueTrueTrueTrueFalseTrueTrue")]
    // Whitespace: trim_blocks, lstrip_blocks, explicit control, raw.
    [InlineData("a\n  {% if true %}\n  b\n  {% endif %}\nc", "a\n  b\nc")]
    [InlineData("a\n  {%+ if true +%}\nb{% endif %}", "a\n  \nb")]
    [InlineData("a  {%- if true -%}  b  {%- endif -%}  c|{% raw %}{{ x }}{% endraw %}|{# comment #}x", "abc|{{ x }}|x")]
    [InlineData("{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{{ a is defined }}|{{ range(3) | list }}|{{ range(1, 7, 2) | list }}|{{ dict(a=1) }}", "3False|[0, 1, 2]|[1, 3, 5]|{'a': 1}")]
    public void Renders_AsJinja2Does(string source, string expected) => Assert.Equal(expected, Render(source));

    [Theory]
    [InlineData("{{ x | frobnicate }}", "unsupported filter 'frobnicate'")]
    [InlineData("{% if false %}{{ x | frobnicate }}{% endif %}", "unsupported filter 'frobnicate'")]
    [InlineData("{{ x is frobnicated }}", "unsupported test 'frobnicated'")]
    [InlineData("{{ xs | select('frobnicated') | list }}", "unsupported test 'frobnicated'")]
    [InlineData("{{ xs | map('frobnicate') | list }}", "unsupported filter 'frobnicate'")]
    [InlineData("{% include 'x.jinja' %}", "unsupported statement")]
    [InlineData("{% extends 'x.jinja' %}", "unsupported statement")]
    [InlineData("{% for x in xs recursive %}{% endfor %}", "recursive")]
    [InlineData("{% break %}", "outside a for loop")]
    [InlineData("{% macro m() %}", "endmacro")]
    public void UnsupportedOrMalformed_FailsWhenLoaded(string source, string expectedInMessage)
    {
        var ex = Assert.Throws<ChatTemplateException>(() => new JinjaChatTemplate(source));
        Assert.Contains(expectedInMessage, ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("{{ undefined_name.attr }}", "undefined")]
    [InlineData("{{ n.attr.deeper }}", "none has no attribute or key 'attr', so its attribute 'deeper' cannot be read")]
    [InlineData("{{ messages[0].content }}", "'messages' is undefined, so its item [0] cannot be read")]
    [InlineData("{{ d.missing.x }}", "mapping has no attribute or key 'missing'")]
    [InlineData("{{ 'a' in n }}", "NoneType")]
    [InlineData("{{ 'x' + undefined_name }}", "undefined")]
    [InlineData("{{ xs.append(4) }}", "unsupported list method 'append'")]
    [InlineData("{{ raise_exception('custom message') }}", "custom message")]
    [InlineData("{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}", "nested deeper")]
    [InlineData("{{ undefined_function() }}", "undefined")]
    public void RuntimeErrors_AreChatTemplateExceptions(string source, string expectedInMessage)
    {
        var ex = Assert.Throws<ChatTemplateException>(() => Render(source));
        Assert.Contains(expectedInMessage, ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void MethodNames_ResolveToMethodsBeforeKeys_AsPythonGetattrDoes()
    {
        // Jinja2's x.name tries getattr first: a schema's "items" key is shadowed by dict.items; x['items'] reads the key.
        const string Source = "{% set spec = {'type': 'array', 'items': {'type': 'string'}} %}{{ spec.items is callable }}|{{ spec['items'].type }}|{{ spec.type }}|{{ (spec.items() | list | length) }}|{{ 'ab'.upper is defined }}";
        Assert.Equal("True|string|array|2|True", Render(Source));
    }

    [Fact]
    public void NoneAttribute_IsUndefinedNotAnError() => Assert.Equal("|False", Render("{{ n.attr }}|{{ n.attr is defined }}"));

    [Fact]
    public void SupportsTools_FollowsTheVariableNotTheText()
    {
        Assert.True(new JinjaChatTemplate("{% if tools %}{{ tools | tojson }}{% endif %}").SupportsTools);
        Assert.False(new JinjaChatTemplate("{{ 'You have tools' }}{% for m in messages %}{{ m.content }}{% endfor %}").SupportsTools);
    }

    [Fact]
    public void ParsedTemplate_RendersConcurrently()
    {
        var template = new JinjaChatTemplate("{% set x %}{{ messages[0].content }}{% endset %}{% filter upper %}{{ x }}{% endfilter %}");
        Parallel.For(0, 200, i =>
        {
            string text = "m" + i;
            Assert.Equal(text.ToUpperInvariant(), template.Render([new ChatTemplateMessage("user", text)], false, "", ""));
        });
    }
}
