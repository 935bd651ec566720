using CsCheck;
using QuickSilver.Extensions.AI.Templates;
using QuickSilver.Extensions.AI.Tests.Templates;

namespace QuickSilver.Extensions.AI.Tests.Reliability;

/// <summary>
/// Chat templates arrive inside downloaded models, so the Jinja interpreter treats them as hostile: mutated published templates and
/// templates written to exhaust the stack, memory or time must end in <see cref="ChatTemplateException"/> (or render), in bounded time.
/// </summary>
public sealed class ChatTemplateFuzzTests
{
    public const int MutationCases = 2000;

    private static readonly ChatTemplateMessage[] Conversation =
    [
        new("system", "Be brief."),
        new("user", "Hi {{ there }} {% if %}"),
        new("assistant", "Hello."),
        new("user", "Tell me a story."),
    ];

    private static readonly string[] Fragments =
    [
        "{%", "%}", "{{", "}}", "{#", "#}", "{%-", "-%}", "(", ")", "[", "]", "'", "\"", "for ", "endfor", "if ", "endif", "else", "elif ",
        "set ", "not ", " in ", "loop.", "messages", "|tojson", "|join(', ')", "|replace('a','bb')", " * 3", " ~ ", "range(5)", "namespace()",
        "raise_exception('x')", ".strip()", "[1:]", "[::-1]", " is defined", "{}", "1e308", "-", "//0", "%0", "None", "true", "\\",
    ];

    private static string Mutate(string source, (int Kind, int At, int Fragment, int Length)[] edits)
    {
        string text = source;
        foreach ((int kind, int at, int fragment, int length) in edits)
        {
            int start = Math.Min(at % (text.Length + 1), text.Length);
            int end = Math.Min(text.Length, start + length);
            text = kind switch
            {
                0 => text[..start] + text[end..],                                   // delete
                1 => text[..start] + Fragments[fragment] + text[start..],           // insert syntax
                2 => text[..start] + Fragments[fragment] + text[end..],             // replace
                _ => text[..start] + text[start..end] + text[start..end] + text[end..], // duplicate a span
            };
        }
        return text;
    }

    private static void RenderOrTemplateException(string source)
    {
        try
        {
            ChatTemplate template = ChatTemplate.FromJinja(source);
            string prompt = template.Render(Conversation, addGenerationPrompt: true, "<s>", "</s>");
            Assert.True(prompt.Length <= ChatTemplateLimits.MaxOutputLength);
        }
        catch (ChatTemplateException)
        {
        }
        catch (ArgumentException) when (string.IsNullOrWhiteSpace(source))
        {
            // FromJinja's guard clause on an empty source.
        }
    }

    [Fact]
    public async Task MutatedPublishedTemplates_RenderOrThrowChatTemplateException()
    {
        string[] sources = [JinjaTemplateTests.Llama2Source, JinjaTemplateTests.ChatMLSource];
        Gen<(int, int, int, int)[]> edits = Gen.Select(Gen.Int[0, 3], Gen.Int[0, 2000], Gen.Int[0, Fragments.Length - 1], Gen.Int[0, 30]).Array[1, 6];
        Task run = Task.Run(() => Gen.Select(Gen.Int[0, sources.Length - 1], edits).Sample(
            (which, e) => RenderOrTemplateException(Mutate(sources[which], e)), iter: MutationCases, threads: 1));
        await AssertFinishes(run, "mutated templates");
    }

    public static TheoryData<string, string> HostileTemplates()
    {
        const string Ns = "{% set ns = namespace() %}";
        return new TheoryData<string, string>
        {
            { "{{ " + new string('(', 100_000) + "1" + new string(')', 100_000) + " }}", "nested deeper" },
            { "{{ " + string.Concat(Enumerable.Repeat("not ", 100_000)) + "true }}", "nested deeper" },
            { "{{ " + new string('[', 100_000) + new string(']', 100_000) + " }}", "nested deeper" },
            { "{{ " + string.Concat(Enumerable.Repeat("-", 100_000)) + "1 }}", "nested deeper" },
            { "{{ 1 if x else " + string.Concat(Enumerable.Repeat("1 if x else ", 50_000)) + "2 }}", "nested deeper" },
            { string.Concat(Enumerable.Repeat("{% if true %}", 10_000)) + "x" + string.Concat(Enumerable.Repeat("{% endif %}", 10_000)), "nested deeper" },
            { string.Concat(Enumerable.Repeat("{% for m in messages %}", 10_000)) + "x" + string.Concat(Enumerable.Repeat("{% endfor %}", 10_000)), "nested deeper" },
            { "{% for i in range(10000000000) %}x{% endfor %}", "range()" },
            { "{% for i in range(0, 10, 0) %}x{% endfor %}", "step" },
            { "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}{% endfor %}{% endfor %}{% endfor %}", "loop iterations" },
            { "{% for i in range(1000000) %}{{ 'x' * 1000 }}{% endfor %}", "exceeds" },
            { "{{ 'x' * 10000000000 }}", "exceeds" },
            { "{{ 'abc' * 3000000000 }}", "exceeds" },
            { Ns + "{% set ns.s = 'xy' %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}", "exceeds" },
            { Ns + "{% set ns.s = 'xy' %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}", "exceeds" },
            { Ns + "{% set ns.l = [1, 2] %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l|length }}", "exceeds" },
            { Ns + "{% set ns.s = 'ab' %}{% for i in range(64) %}{% set ns.s = ns.s|replace('a', 'aaaa') %}{% endfor %}", "exceeds" },
            { Ns + "{% set ns.l = ['abcdefgh'] %}{% for i in range(40) %}{% set ns.l = [ns.l|join(ns.l|join('x')), 'y'] %}{% endfor %}", "exceeds" },
            { Ns + "{% set ns.self = ns %}{{ ns }}", "contains itself" },
            { Ns + "{% set ns.self = ns %}{{ ns|tojson }}", "contains itself" },
            { Ns + "{% set ns.self = [ns] %}{{ ns.self == ns.self }}{{ ns.self }}", "contains itself" },
            { "{{ 'abc'|replace('', 'x') }}", "non-empty" },
            { "{{ messages|tojson(indent=1000000000) }}", "indent" },
            { "{% for m in messages %}x", "endfor" },
            { "{{ 'abc'", "unclosed" },
            { "{{ 'abc' ~ }}", "Chat template" },
            { "{{ messages[0]['content'] ", "unclosed" },
            { "{# never closed", "unclosed" },
            { "{% if %}x{% endif %}", "Chat template" },
            { "{% endfor %}", "unexpected" },
            { "{{ }}", "Chat template" },
            { "{{ 1 // 0 }}", "division by zero" },
            { "{{ raise_exception('no thanks') }}", "no thanks" },
            { new string('x', ChatTemplateLimits.MaxSourceLength + 1), "exceed the limit" },
        };
    }

    [Theory]
    [MemberData(nameof(HostileTemplates))]
    public async Task HostileTemplate_ThrowsChatTemplateException_InBoundedTime(string source, string expectedInMessage)
    {
        Task<ChatTemplateException> run = Task.Run(() => Assert.Throws<ChatTemplateException>(() =>
            ChatTemplate.FromJinja(source).Render(Conversation, addGenerationPrompt: true, "<s>", "</s>")));
        await AssertFinishes(run, source.Length > 80 ? source[..80] + "..." : source);
        ChatTemplateException exception = await run;
        Assert.Contains(expectedInMessage, exception.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void NestingJustInsideTheLimit_StillRenders()
    {
        int depth = ChatTemplateLimits.MaxNestingDepth - 2;
        string blocks = string.Concat(Enumerable.Repeat("{% if true %}", depth)) + "ok" + string.Concat(Enumerable.Repeat("{% endif %}", depth));
        Assert.Equal("ok", ChatTemplate.FromJinja(blocks).Render(Conversation, true, "", ""));
        string parens = "{{ " + new string('(', depth / 2) + "1 + 1" + new string(')', depth / 2) + " }}";
        Assert.Equal("2", ChatTemplate.FromJinja(parens).Render(Conversation, true, "", ""));
    }

    [Fact]
    public void LongConversation_StaysWithinTheLoopBudget()
    {
        var messages = Enumerable.Range(0, 5000).Select(i => new ChatTemplateMessage(i % 2 == 0 ? "user" : "assistant", "message " + i)).ToArray();
        string prompt = ChatTemplate.FromJinja(JinjaTemplateTests.ChatMLSource).Render(messages, true, "", "");
        Assert.Contains("message 4999<|im_end|>", prompt);
        Assert.EndsWith("<|im_start|>assistant\n", prompt);
    }

    internal static async Task AssertFinishes(Task task, string what)
    {
        // Generous: a hang shows up as a clear failure instead of a stuck test run. Not a performance assertion.
        Task winner = await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(winner == task, $"Did not finish within 60 s (hang or runaway work): {what}");
        await task;
    }
}
