using System.Text.Json;
using Microsoft.Extensions.AI;
using QuickSilver.Extensions.AI.Chat;
using QuickSilver.Extensions.AI.Constraints;
using QuickSilver.Extensions.AI.Tests.Fakes;

namespace QuickSilver.Extensions.AI.Tests.Chat;

public class ToolCallingTests
{
    private static readonly AIFunction Weather = AIFunctionFactory.Create((string city, int days) => $"Sunny in {city} for {days} days", "get_weather", "Gets the weather.");
    private static readonly AIFunction Time = AIFunctionFactory.Create((string zone) => "12:00", "get_time", "Gets the time.");

    private static List<ChatMessage> Ask(string text) => [new(ChatRole.User, text)];

    [Fact]
    public async Task UseFunctionInvocation_RoundTrip()
    {
        // The fake calls the tool first; once the prompt shows the tool's result, it answers with it.
        string Script(string prompt) => prompt.Contains("Result of get_weather:")
            ? "It is " + prompt[(prompt.IndexOf("Sunny", StringComparison.Ordinal))..].Split('\n')[0]
            : """{"name":"get_weather","arguments":{"city":"Paris","days":2}}""";
        using var inner = TestClients.Create(out FakeBackend backend, Script);
        IChatClient client = new ChatClientBuilder(inner).UseFunctionInvocation().Build();

        ChatResponse response = await client.GetResponseAsync(Ask("Weather in Paris?"), new ChatOptions { Tools = [Weather] });

        Assert.Equal("It is Sunny in Paris for 2 days", response.Text);
        FunctionCallContent call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("Paris", ((JsonElement)call.Arguments!["city"]!).GetString());
        FunctionResultContent result = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>());
        Assert.Equal(call.CallId, result.CallId);
        Assert.Equal(2, backend.Requests.Count);
        string secondPrompt = backend.Requests.Last().Prompt;
        Assert.Contains("""Assistant: {"name":"get_weather","arguments":{"city":"Paris","days":2}}""", secondPrompt);
        Assert.Contains("Tool: Result of get_weather: Sunny in Paris for 2 days", secondPrompt);
    }

    [Fact]
    public async Task ToolsAreDescribedBySignaturesDerivedFromTheirJsonSchema()
    {
        using var client = TestClients.Create(out FakeBackend backend);
        await client.GetResponseAsync(Ask("x"), new ChatOptions { Tools = [Weather, Time] });
        string prompt = backend.Requests.Single().Prompt;
        Assert.Contains("- get_weather(city: string, days: integer) Gets the weather.", prompt);
        Assert.Contains("- get_time(zone: string) Gets the time.", prompt);
    }

    [Fact]
    public async Task ToolModeNone_NeitherDescribesNorParsesTools()
    {
        using var client = TestClients.Create(out FakeBackend backend, _ => """{"name":"get_time","arguments":{"zone":"utc"}}""");
        ChatResponse response = await client.GetResponseAsync(Ask("x"), new ChatOptions { Tools = [Time], ToolMode = ChatToolMode.None });
        Assert.DoesNotContain("get_time", backend.Requests.Single().Prompt);
        Assert.Empty(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public async Task AutoMode_PlainTextStaysText_AndStreamsImmediately()
    {
        using var client = TestClients.Create(out _, _ => "Hello world");
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync(Ask("x"), new ChatOptions { Tools = [Time] })) updates.Add(u);
        Assert.True(updates.Count(u => u.Text.Length > 0) >= 2);
        Assert.Equal("Hello world", updates.ToChatResponse().Text);
    }

    [Fact]
    public async Task AutoMode_AReplyOpeningWithABrace_IsConstrainedIntoAValidCall()
    {
        // The fake "wants" to call a tool that does not exist; once it writes '{', only real tools and their arguments remain possible.
        using var client = TestClients.Create(out _, _ => """{"name":"get_timezone","arguments":{}}""", o => o.MaxConstrainedStringLength = 6);
        ChatResponse response = await client.GetResponseAsync(Ask("x"), new ChatOptions { Tools = [Time], MaxOutputTokens = 80 });
        FunctionCallContent call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_time", call.Name);
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
    }

    [Fact]
    public async Task AutoMode_JsonThatIsNotACall_IsReturnedAsText()
    {
        using var client = TestClients.Create(out _, _ => "[1,2]");
        ChatResponse response = await client.GetResponseAsync(Ask("x"), new ChatOptions { Tools = [Time] });
        Assert.Equal("[1,2]", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public void AutoConstraint_LeavesTextFreeButMasksBracesNoCallCanFollow()
    {
        var tokenizer = new FakeTokenizer();
        var envelope = JsonSchemaConstraint.ForToolCall(tokenizer, [("get_time", Time.JsonSchema)]);
        var auto = new AutoToolCallConstraint(tokenizer, envelope);
        float[] logits = new float[tokenizer.VocabSize];
        auto.Apply(logits);
        Assert.Equal(0, logits['H']);
        Assert.Equal(0, logits['{']);
        Assert.Equal(0, logits[tokenizer.IdOf("{\"")]);
        auto.Accept(' ');
        auto.Accept('{');
        Assert.True(auto.IsCall);
        logits = new float[tokenizer.VocabSize];
        auto.Apply(logits);
        Assert.True(float.IsNegativeInfinity(logits['H']));
        Assert.Equal(0, logits['"']);
    }

    [Theory]
    [InlineData(null, 2)]
    [InlineData(true, 2)]
    [InlineData(false, 1)]
    public async Task AllowMultipleToolCalls_LimitsParsedCalls(bool? allow, int expected)
    {
        using var client = TestClients.Create(out _, _ => "[{\"name\":\"get_time\",\"arguments\":{\"zone\":\"utc\"}},{\"name\":\"get_time\",\"arguments\":{\"zone\":\"local\"}}]");
        ChatResponse response = await client.GetResponseAsync(Ask("x"), new ChatOptions { Tools = [Time], AllowMultipleToolCalls = allow });
        Assert.Equal(expected, response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Count());
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
    }

    [Fact]
    public async Task RequireAny_ConstrainsAProseModelIntoAValidCall()
    {
        using var client = TestClients.Create(out FakeBackend backend, _ => "Once upon a time", o => o.MaxConstrainedStringLength = 8);
        ChatResponse response = await client.GetResponseAsync(Ask("x"), new ChatOptions { Tools = [Weather, Time], ToolMode = ChatToolMode.RequireAny, MaxOutputTokens = 100 });
        FunctionCallContent call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        AIFunction tool = call.Name == "get_weather" ? Weather : Time;
        using JsonDocument args = JsonDocument.Parse(JsonSerializer.Serialize(call.Arguments));
        Assert.Empty(Constraints.SchemaValidator.Validate(args.RootElement, tool.JsonSchema));
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
    }

    [Fact]
    public async Task RequireAny_WithTheSmallestPossibleBudget_StillClosesTheCall()
    {
        int minimum = "{\"name\":\"get_time\",\"arguments\":{\"zone\":\"\"}}".Length;
        using var client = TestClients.Create(out _, _ => "Once upon a time there was");
        ChatResponse response = await client.GetResponseAsync(Ask("x"), new ChatOptions { Tools = [Time], ToolMode = ChatToolMode.RequireAny, MaxOutputTokens = minimum });
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        Assert.Equal("get_time", Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>()).Name);
        Assert.True(response.Usage!.OutputTokenCount <= minimum);
    }

    [Fact]
    public async Task RequireAny_WithATooSmallBudget_RaisesItToTheShortestCall()
    {
        int minimum = "{\"name\":\"get_time\",\"arguments\":{\"zone\":\"\"}}".Length;
        using var client = TestClients.Create(out FakeBackend backend, _ => "Once upon a time there was");
        ChatResponse response = await client.GetResponseAsync(Ask("x"), new ChatOptions { Tools = [Time], ToolMode = ChatToolMode.RequireAny, MaxOutputTokens = 5 });
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        Assert.Equal(minimum, backend.Requests.Single().Request.MaxNewTokens);
    }

    [Fact]
    public async Task RequireSpecific_OnlyThatToolCanBeCalled()
    {
        using var client = TestClients.Create(out FakeBackend backend, _ => """{"name":"get_weather","arguments":{"city":"Paris","days":1}}""", o => o.MaxConstrainedStringLength = 8);
        ChatResponse response = await client.GetResponseAsync(Ask("x"), new ChatOptions { Tools = [Weather, Time], ToolMode = ChatToolMode.RequireSpecific("get_time"), MaxOutputTokens = 100 });
        FunctionCallContent call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_time", call.Name);
    }

    [Fact]
    public async Task RequireSpecific_UnknownTool_Throws()
    {
        using var client = TestClients.Create(out _);
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync(Ask("x"), new ChatOptions { Tools = [Time], ToolMode = ChatToolMode.RequireSpecific("launch") }));
        Assert.Contains("launch", ex.Message);
    }

    [Fact]
    public async Task RequireAny_WithoutTools_Throws()
    {
        using var client = TestClients.Create(out _);
        await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync(Ask("x"), new ChatOptions { ToolMode = ChatToolMode.RequireAny }));
    }

    [Fact]
    public async Task ToolCalling_ProtectsToolNamesArgumentNamesAndJsonStructure()
    {
        var tokenizer = new FakeTokenizer();
        using var client = TestClients.Create(out FakeBackend backend);
        await client.GetResponseAsync(Ask("x"), new ChatOptions { Tools = [Weather] });
        var request = backend.Requests.Single().Request;
        var ids = request.ProtectedTokenIds.ToHashSet();
        Assert.Contains(tokenizer.IdOf("get_weather"), ids);
        Assert.Contains(tokenizer.IdOf("city"), ids);
        Assert.Contains(tokenizer.IdOf("name"), ids);
        Assert.Contains(tokenizer.IdOf("arguments"), ids);
        foreach (char c in "{}[]:,\"") Assert.Contains(c, ids);
        Assert.Contains(tokenizer.IdOf("{\""), ids);
        Assert.Contains(tokenizer.IdOf("\":"), ids);
        Assert.DoesNotContain('P', ids);
        // The policy itself is untouched, so the engine's KV-prefix reuse (keyed on the policy) carries across tool iterations.
        Assert.Equal(client.CurrentPolicy.Lexicons.FullProcessing, request.Policy!.Lexicons.FullProcessing);
    }

    [Fact]
    public async Task NoTools_ProtectsNothingExtra()
    {
        using var client = TestClients.Create(out FakeBackend backend);
        await client.GetResponseAsync(Ask("x"));
        Assert.Empty(backend.Requests.Single().Request.ProtectedTokenIds);
    }

    [Fact]
    public async Task NonFunctionTool_Throws()
    {
        using var client = TestClients.Create(out _);
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync(Ask("x"), new ChatOptions { Tools = [new HostedWebSearchTool()] }));
        Assert.Contains("AIFunctionDeclaration", ex.Message);
    }

    [Fact]
    public void Signature_ShowsOptionalEnumAndArrayParameters()
    {
        var schema = JsonDocument.Parse("""{"type":"object","properties":{"unit":{"type":"string","enum":["c","f"]},"days":{"type":["integer","null"]},"tags":{"type":"array","items":{"type":"string"}}},"required":["unit"]}""").RootElement;
        Assert.Equal("f(unit: \"c\"|\"f\", days?: integer|null, tags?: string[])", ToolCalling.Signature("f", schema));
    }

    [Fact]
    public void ConstraintFromRequireAny_IsTheToolEnvelope()
    {
        var tokenizer = new FakeTokenizer();
        var constraint = JsonSchemaConstraint.ForToolCall(tokenizer, [("get_time", Time.JsonSchema)]);
        bool[] mask = constraint.ComputeMask();
        Assert.True(mask[tokenizer.IdOf("{\"")]);
        Assert.True(mask['{']);
        Assert.False(mask['H']);
    }
}
