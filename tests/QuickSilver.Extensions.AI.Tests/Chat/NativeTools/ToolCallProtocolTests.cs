using System.Text.Json;
using Microsoft.Extensions.AI;
using QuickSilver.Extensions.AI.Chat.Protocols;

namespace QuickSilver.Extensions.AI.Tests.Chat.NativeTools;

/// <summary>The native call syntaxes parse as the model families write them, and bad syntax is never half-parsed.</summary>
public class ToolCallProtocolTests
{
    private static string Arg(FunctionCallContent call, string name) => ((JsonElement)call.Arguments![name]!).ToString();

    [Fact]
    public void Hermes_ParsesOneBlockPerCall_AndToleratesAMissingCloseOnTheLast()
    {
        const string text = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}\n</tool_call>\n"
            + "<tool_call>\n{\"name\": \"get_time\", \"arguments\": \"{\\\"zone\\\": \\\"CET\\\"}\"}";
        Assert.True(ToolCallProtocol.Hermes.TryParseCalls(text, out List<FunctionCallContent> calls));
        Assert.Equal(["get_weather", "get_time"], calls.Select(c => c.Name));
        Assert.Equal("Paris", Arg(calls[0], "city"));
        Assert.Equal("3", Arg(calls[0], "days"));
        Assert.Equal("CET", Arg(calls[1], "zone"));   // arguments given as a JSON string
        Assert.All(calls, c => Assert.StartsWith("call_", c.CallId));
    }

    [Theory]
    [InlineData("<tool_call>\n{\"name\": \"x\", \"arguments\": {\"a\": }\n</tool_call>")]
    [InlineData("<tool_call>\n{\"arguments\": {}}\n</tool_call>")]
    [InlineData("<tool_call>\n[1, 2]\n</tool_call>")]
    [InlineData("<tool_call>{\"name\": \"x\", \"arguments\": {}}</tool_call> and then some prose")]
    public void Hermes_RejectsMalformedCalls(string text)
    {
        Assert.False(ToolCallProtocol.Hermes.TryParseCalls(text, out List<FunctionCallContent> calls));
        Assert.Empty(calls);
    }

    [Theory]
    [InlineData("<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}")]
    [InlineData("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}")]
    [InlineData("  {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}  ")]
    public void Llama_ParsesPythonTagAndBareJsonCalls(string text)
    {
        Assert.True(ToolCallProtocol.Llama3.TryParseCalls(text, out List<FunctionCallContent> calls));
        FunctionCallContent call = Assert.Single(calls);
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("Paris", Arg(call, "city"));
    }

    [Fact]
    public void Llama_ParsesSemicolonSeparatedCalls()
    {
        Assert.True(ToolCallProtocol.Llama3.TryParseCalls("{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"parameters\": {\"x\": 1}}", out var calls));
        Assert.Equal(["a", "b"], calls.Select(c => c.Name));
    }

    [Fact]
    public void Mistral_ParsesTheJsonArrayForm_KeepingIds_AndMakingNineCharacterIds()
    {
        const string text = "[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}, \"id\": \"abcDEF123\"}, {\"name\": \"get_time\", \"arguments\": {}}]";
        Assert.True(ToolCallProtocol.Mistral.TryParseCalls(text, out var calls));
        Assert.Equal("abcDEF123", calls[0].CallId);
        Assert.Equal("Paris", Arg(calls[0], "city"));
        Assert.Matches("^[A-Za-z0-9]{9}$", calls[1].CallId);
    }

    [Fact]
    public void Mistral_ParsesTheArgsForm()
    {
        const string text = "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}[TOOL_CALLS]get_time[CALL_ID]a1b2c3d4e[ARGS]{}";
        Assert.True(ToolCallProtocol.MistralArgs.TryParseCalls(text, out var calls));
        Assert.Equal(["get_weather", "get_time"], calls.Select(c => c.Name));
        Assert.Equal("a1b2c3d4e", calls[1].CallId);
    }

    [Fact]
    public void Detect_PicksTheProtocolFromTheTemplatesOwnMarkers()
    {
        string fixtures = QuickSilver.Testing.SharedAssets.Path("fixtures", "chat-templates");
        Assert.Same(ToolCallProtocol.Hermes, ToolCallProtocol.Detect(File.ReadAllText(Path.Combine(fixtures, "qwen3.jinja"))));
        Assert.Same(ToolCallProtocol.Llama3, ToolCallProtocol.Detect(File.ReadAllText(Path.Combine(fixtures, "llama-3.1-instruct.jinja"))));
        Assert.Same(ToolCallProtocol.Mistral, ToolCallProtocol.Detect("{{ '[TOOL_CALLS] [' }}"));
        Assert.Same(ToolCallProtocol.MistralArgs, ToolCallProtocol.Detect("{{ '[TOOL_CALLS]' + name + '[ARGS]' }}"));
        Assert.Null(ToolCallProtocol.Detect("{% for m in messages %}{{ m.content }}{% endfor %}"));
    }

    [Fact]
    public void Mistral_MapsForeignCallIdsToNineCharactersDeterministically()
    {
        Func<string, string> map = ToolCallProtocol.Mistral.TemplateCallId!;
        Assert.Equal("abcDEF123", map("abcDEF123"));
        Assert.Matches("^[A-Za-z0-9]{9}$", map("call_1"));
        Assert.Equal(map("call_1"), map("call_1"));
        Assert.NotEqual(map("call_1"), map("call_2"));
        Assert.Null(ToolCallProtocol.Hermes.TemplateCallId);
    }

    [Fact]
    public void DeepSeek_ParsesTheV3FencedFormAndTheV31Form()
    {
        const string v3 = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜>"
            + "<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
        Assert.True(ToolCallProtocol.DeepSeek.TryParseCalls(v3, out var calls));
        Assert.Equal(["get_weather", "get_time"], calls.Select(c => c.Name));
        Assert.Equal("Paris", Arg(calls[0], "city"));
        const string v31 = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"city\": \"Rome\"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
        Assert.True(ToolCallProtocol.DeepSeek.TryParseCalls(v31, out calls));
        Assert.Equal("Rome", Arg(Assert.Single(calls), "city"));
        Assert.False(ToolCallProtocol.DeepSeek.TryParseCalls("<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>x\n```json\n{oops\n```", out _));
        Assert.Same(ToolCallProtocol.DeepSeek, ToolCallProtocol.Detect("{{'<｜tool▁calls▁begin｜>'}}"));
    }
}
