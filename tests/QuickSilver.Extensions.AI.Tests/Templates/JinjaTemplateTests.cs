using QuickSilver.Extensions.AI.Templates;
using QuickSilver.Extensions.AI.Templates.Jinja;

namespace QuickSilver.Extensions.AI.Tests.Templates;

/// <summary>
/// The Jinja renderer on published chat templates. The template strings are written from the models' tokenizer_config.json files
/// (meta-llama/Llama-2-7b-chat-hf, teknium/OpenHermes-2.5-Mistral-7B (ChatML), Qwen/Qwen2-7B-Instruct, HuggingFaceH4/zephyr-7b-beta,
/// meta-llama/Meta-Llama-3-8B-Instruct) as recalled, not copied from a fetched file; the Llama-2 one was checked against a public copy.
/// </summary>
public class JinjaTemplateTests
{
    internal const string Llama2Source =
        "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

    internal const string ChatMLSource =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    private const string Qwen2Source =
        "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    private const string ZephyrSource =
        "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";

    private const string Llama3Source =
        "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

    private static readonly ChatTemplateMessage[] Conversation = BuiltInTemplateTests.Conversation;

    [Fact]
    public void PublishedLlama2Template_MatchesBuiltIn()
    {
        string expected = ChatTemplate.Llama2.Render(Conversation, true, "<s>", "</s>");
        Assert.Equal(expected, ChatTemplate.FromJinja(Llama2Source).Render(Conversation, true, "<s>", "</s>"));
    }

    [Fact]
    public void PublishedLlama2Template_WithoutSystem_MatchesBuiltIn()
    {
        ChatTemplateMessage[] messages = Conversation[1..];
        Assert.Equal(ChatTemplate.Llama2.Render(messages, true, "<s>", "</s>"), ChatTemplate.FromJinja(Llama2Source).Render(messages, true, "<s>", "</s>"));
    }

    [Fact]
    public void PublishedLlama2Template_RaiseException_BecomesChatTemplateException()
    {
        var ex = Assert.Throws<ChatTemplateException>(() => ChatTemplate.FromJinja(Llama2Source).Render([new("assistant", "x")], true, "<s>", "</s>"));
        Assert.Contains("Conversation roles must alternate", ex.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PublishedChatMLTemplate_MatchesBuiltIn(bool addGenerationPrompt)
    {
        Assert.Equal(ChatTemplate.ChatML.Render(Conversation, addGenerationPrompt, "", ""), ChatTemplate.FromJinja(ChatMLSource).Render(Conversation, addGenerationPrompt, "", ""));
    }

    [Fact]
    public void Qwen2Template_AddsDefaultSystemOnlyWhenMissing()
    {
        ChatTemplate template = ChatTemplate.FromJinja(Qwen2Source);
        Assert.Equal(ChatTemplate.ChatML.Render(Conversation, true, "", ""), template.Render(Conversation, true, "", ""));
        Assert.Equal(
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
            template.Render([new("user", "Hi")], true, "", ""));
    }

    [Fact]
    public void ZephyrTemplate_WithTrimAndLstripBlocks_MatchesBuiltIn()
    {
        Assert.Equal(ChatTemplate.Zephyr.Render(Conversation, true, "<s>", "</s>"), ChatTemplate.FromJinja(ZephyrSource).Render(Conversation, true, "<s>", "</s>"));
    }

    [Fact]
    public void Llama3Template_FilterBindsTighterThanPlus_MatchesBuiltIn()
    {
        ChatTemplateMessage[] padded = [.. Conversation.Select(m => m with { Content = "  " + m.Content + "\n" })];
        Assert.Equal(
            ChatTemplate.Llama3.Render(padded, true, "<|begin_of_text|>", ""),
            ChatTemplate.FromJinja(Llama3Source).Render(padded, true, "<|begin_of_text|>", ""));
    }

    private static string Render(string source, Dictionary<string, object?>? variables = null)
        => JinjaTemplate.Parse(source).Render(variables ?? new Dictionary<string, object?>());

    [Fact]
    public void Loop_ExposesIndexFirstLastAndLength()
    {
        var items = new Dictionary<string, object?> { ["xs"] = new List<object?> { "a", "b", "c" } };
        Assert.Equal("[a1/3]b2,c3.", Render("{% for x in xs %}{% if loop.first %}[{% endif %}{{ x }}{{ loop.index }}{% if loop.first %}/{{ loop.length }}]{% elif loop.last %}.{% else %},{% endif %}{% endfor %}", items));
    }

    [Fact]
    public void DotAndIndexAccess_AreEquivalent()
    {
        var vars = new Dictionary<string, object?> { ["m"] = new Dictionary<string, object?> { ["role"] = "user", ["content"] = "hi" } };
        Assert.Equal("user:hi|user:hi", Render("{{ m.role }}:{{ m.content }}|{{ m['role'] ~ ':' ~ m['content'] }}", vars));
    }

    [Fact]
    public void Concatenation_TildeConvertsNumbersPlusDoesNot()
    {
        Assert.Equal("a1", Render("{{ 'a' ~ 1 }}"));
        Assert.Equal("3", Render("{{ 1 + 2 }}"));
        Assert.Throws<ChatTemplateException>(() => Render("{{ 'a' + 1 }}"));
    }

    [Fact]
    public void Filters_TrimAndTojson()
    {
        var vars = new Dictionary<string, object?> { ["o"] = new Dictionary<string, object?> { ["a"] = 1L, ["b"] = new List<object?> { true, null, "x\"y" } } };
        Assert.Equal("{\"a\": 1, \"b\": [true, null, \"x\\\"y\"]}|x", Render("{{ o | tojson }}|{{ '  x ' | trim }}", vars));
    }

    [Fact]
    public void WhitespaceControl_StripsAroundTags()
    {
        Assert.Equal("ab", Render("a  {%- if true -%}  \n  b{%- endif %}"));
        Assert.Equal("a-\nb", Render("a\n  {{- '-' }}\nb"));
        Assert.Equal("x\ny", Render("{% if true %}\nx\n{% endif %}\ny"));
    }

    [Fact]
    public void IsDefined_AndUndefinedRendersEmpty()
    {
        Assert.Equal("no|", Render("{% if tools is defined %}yes{% else %}no{% endif %}|{{ tools }}"));
    }

    [Fact]
    public void Set_InsideLoop_DoesNotLeak()
    {
        var vars = new Dictionary<string, object?> { ["xs"] = new List<object?> { 1L } };
        Assert.Equal("outer", Render("{% set v = 'outer' %}{% for x in xs %}{% set v = 'inner' %}{% endfor %}{{ v }}", vars));
    }

    [Fact]
    public void BosAndEosAndGenerationPrompt_AreVariables()
    {
        var vars = new Dictionary<string, object?> { ["bos_token"] = "<s>", ["eos_token"] = "</s>", ["add_generation_prompt"] = true };
        Assert.Equal("<s>x</s>G", Render("{{ bos_token }}x{{ eos_token }}{% if add_generation_prompt %}G{% endif %}", vars));
    }

    [Fact]
    public void StrftimeNow_FormatsTheDate()
    {
        string rendered = Render("{{ strftime_now('%Y|%m|%d') }}");
        string[] parts = rendered.Split('|');
        var today = DateTime.Now;
        Assert.Equal(today.Year.ToString(System.Globalization.CultureInfo.InvariantCulture), parts[0]);
        Assert.Equal(2, parts[1].Length);
        Assert.Equal(2, parts[2].Length);
    }

    [Fact]
    public void NamespaceSetAndSlicingAndIn_Work()
    {
        var vars = new Dictionary<string, object?> { ["xs"] = new List<object?> { "a", "b", "c", "d" } };
        Assert.Equal("3|b,c|yes|dcba", Render(
            "{% set ns = namespace(n=0) %}{% for x in xs[1:] %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}|{{ xs[1:3] | join(',') }}|{{ 'yes' if 'c' in xs else 'no' }}|{{ xs[::-1] | join('') }}", vars));
    }

    [Theory]
    [InlineData("{% for x in xs %}", "missing")]
    [InlineData("{{ 'unterminated }}", "unclosed")]
    [InlineData("{% include 'other.jinja' %}", "unsupported statement")]
    [InlineData("{{ x | frobnicate }}", "unsupported filter")]
    [InlineData("{% endif %}", "unexpected")]
    [InlineData("{{ 1 + }}", "unexpected")]
    public void MalformedOrUnsupportedTemplates_ThrowClearErrors(string source, string expected)
    {
        var ex = Assert.Throws<ChatTemplateException>(() => Render(source, new Dictionary<string, object?> { ["xs"] = new List<object?>(), ["x"] = "v" }));
        Assert.Contains(expected, ex.Message, StringComparison.OrdinalIgnoreCase);
    }
}
