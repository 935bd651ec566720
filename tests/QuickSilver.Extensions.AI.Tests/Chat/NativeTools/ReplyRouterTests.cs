using Microsoft.Extensions.AI;
using QuickSilver.Extensions.AI.Chat;
using QuickSilver.Extensions.AI.Chat.Protocols;

namespace QuickSilver.Extensions.AI.Tests.Chat.NativeTools;

/// <summary>The streamed reply is split into reasoning, text and calls, whatever the chunking.</summary>
public class ReplyRouterTests
{
    private static List<AIContent> Route(ReplyRouter router, string text, int chunk)
    {
        var contents = new List<AIContent>();
        for (int i = 0; i < text.Length; i += chunk) contents.AddRange(router.Push(text.Substring(i, Math.Min(chunk, text.Length - i))));
        contents.AddRange(router.Finish(section => ToolCallProtocol.Hermes.TryParseCalls(section, out var calls) ? calls : null));
        return contents;
    }

    private static string Joined<T>(IEnumerable<AIContent> contents) where T : AIContent
        => string.Concat(contents.OfType<T>().Select(c => c is TextContent t ? t.Text : ((TextReasoningContent)(object)c).Text));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1000)]
    public void ThinkTextAndCall_AreSeparated(int chunk)
    {
        const string reply = "<think>\nThe user wants weather.\n</think>\n\nLet me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
        var contents = Route(new ReplyRouter(ToolCallProtocol.Hermes, false, false, false), reply, chunk);
        Assert.Equal("\nThe user wants weather.\n", Joined<TextReasoningContent>(contents));
        Assert.Equal("Let me check.\n", Joined<TextContent>(contents));
        Assert.Equal("get_weather", Assert.Single(contents.OfType<FunctionCallContent>()).Name);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void ALookAlikeOfTheMarker_IsShownAsText(int chunk)
    {
        var contents = Route(new ReplyRouter(ToolCallProtocol.Hermes, false, false, false), "Use <tool> tags, not <tool_cal.", chunk);
        Assert.Equal("Use <tool> tags, not <tool_cal.", Joined<TextContent>(contents));
        Assert.Empty(contents.OfType<FunctionCallContent>());
    }

    [Fact]
    public void AMalformedCallSection_ComesBackAsText()
    {
        var contents = Route(new ReplyRouter(ToolCallProtocol.Hermes, false, false, false), "<tool_call>{oops</tool_call>", 2);
        Assert.Equal("<tool_call>{oops</tool_call>", Joined<TextContent>(contents));
    }

    [Fact]
    public void APromptThatOpenedThinking_StartsInReasoning()
    {
        var contents = Route(new ReplyRouter(null, false, false, startsInReasoning: true), "hmm\n</think>\nAnswer.", 2);
        Assert.Equal("hmm\n", Joined<TextReasoningContent>(contents));
        Assert.Equal("Answer.", Joined<TextContent>(contents));
    }

    [Fact]
    public void BareJsonProtocol_HoldsAReplyThatOpensWithABrace()
    {
        var router = new ReplyRouter(ToolCallProtocol.Llama3, false, false, false);
        Assert.Empty(router.Push("{\"name\": \"get_weather\", "));
        List<AIContent> last = router.Finish(section => ToolCallProtocol.Llama3.TryParseCalls(section + "\"parameters\": {}}", out var calls) ? calls : null);
        Assert.Equal("get_weather", Assert.Single(last.OfType<FunctionCallContent>()).Name);
    }
}
