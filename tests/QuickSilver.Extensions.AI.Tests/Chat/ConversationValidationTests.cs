using Microsoft.Extensions.AI;
using QuickSilver.Extensions.AI.Tests.Fakes;

namespace QuickSilver.Extensions.AI.Tests.Chat;

public class ConversationValidationTests
{
    private static async Task<ArgumentException> Fails(IEnumerable<ChatMessage> messages)
    {
        using var client = TestClients.Create(out FakeBackend backend);
        var ex = await Assert.ThrowsAnyAsync<ArgumentException>(() => client.GetResponseAsync(messages));
        Assert.Empty(backend.Requests);
        return ex;
    }

    [Fact]
    public async Task EmptyConversation_Throws() => Assert.Contains("empty", (await Fails([])).Message);

    [Fact]
    public async Task NullConversation_Throws()
    {
        using var client = TestClients.Create(out _);
        await Assert.ThrowsAsync<ArgumentNullException>(() => client.GetResponseAsync((IEnumerable<ChatMessage>)null!));
    }

    [Fact]
    public async Task UnknownRole_Throws()
        => Assert.Contains("'narrator'", (await Fails([new(new ChatRole("narrator"), "Once")])).Message);

    [Fact]
    public async Task MessageWithoutText_Throws()
    {
        var ex = await Fails([new(ChatRole.User, "Hi"), new(ChatRole.User, [new DataContent(new byte[] { 1, 2 }, "image/png")])]);
        Assert.Contains("messages[1]", ex.Message);
        Assert.Contains("no text", ex.Message);
    }

    [Fact]
    public async Task WhitespaceOnlyMessage_Throws() => Assert.Contains("messages[0]", (await Fails([new(ChatRole.User, "   ")])).Message);

    [Fact]
    public async Task ToolResultForACallNeverMade_Throws()
    {
        var ex = await Fails([new(ChatRole.User, "Hi"), new(ChatRole.Tool, [new FunctionResultContent("call_404", "sunny")])]);
        Assert.Contains("call_404", ex.Message);
    }

    [Fact]
    public async Task OnlySystemText_Throws() => Assert.Contains("only system", (await Fails([new(ChatRole.System, "Be nice.")])).Message);

    [Fact]
    public async Task FunctionCallFromAUser_Throws()
        => Assert.Contains("only assistant", (await Fails([new(ChatRole.User, [new FunctionCallContent("c1", "f")])])).Message);
}
