using System.Text.Json;
using Microsoft.Extensions.AI;
using QuickSilver.Engine.Generation;
using QuickSilver.Extensions.AI.Chat;
using QuickSilver.Extensions.AI.Constraints;
using QuickSilver.Extensions.AI.Tests.Fakes;

namespace QuickSilver.Extensions.AI.Tests.Chat;

/// <summary>Each ChatOptions property and each QuickSilver AdditionalProperties key, checked on the request the engine receives.</summary>
public class OptionsMappingTests
{
    private static List<ChatMessage> Ask(string text) => [new(ChatRole.User, text)];

    private static async Task<(string Prompt, GenerationRequest Request, ChatResponse Response)> Run(ChatOptions? options, Func<string, string>? script = null, Action<QuickSilverOptions>? configure = null)
    {
        using var client = TestClients.Create(out FakeBackend backend, script, configure);
        ChatResponse response = await client.GetResponseAsync(Ask("Hi"), options);
        Assert.True(backend.Requests.TryDequeue(out var entry));
        return (entry.Prompt, entry.Request, response);
    }

    [Fact]
    public async Task SamplingOptions_ReachTheEngine()
    {
        var (_, request, _) = await Run(new ChatOptions { Temperature = 0.7f, TopP = 0.9f, TopK = 40, Seed = 1234, FrequencyPenalty = 0.5f, PresencePenalty = -0.25f, MaxOutputTokens = 17 });
        Assert.Equal(0.7f, request.Temperature);
        Assert.Equal(0.9f, request.TopP);
        Assert.Equal(40, request.TopK);
        Assert.Equal(1234, request.Seed);
        Assert.Equal(0.5f, request.FrequencyPenalty);
        Assert.Equal(-0.25f, request.PresencePenalty);
        Assert.Equal(17, request.MaxNewTokens);
    }

    [Fact]
    public async Task Defaults_ComeFromQuickSilverOptions()
    {
        var (_, request, _) = await Run(null, configure: o => { o.Temperature = 0.3f; o.TopK = 5; o.TopP = 0.5f; o.MaxOutputTokens = 9; o.Seed = 99; o.RepetitionPenalty = 1.1f; });
        Assert.Equal(0.3f, request.Temperature);
        Assert.Equal(5, request.TopK);
        Assert.Equal(0.5f, request.TopP);
        Assert.Equal(9, request.MaxNewTokens);
        Assert.Equal(99, request.Seed);
        Assert.Equal(1.1f, request.RepetitionPenalty);
    }

    [Fact]
    public async Task FrequencyPenalty_ChangesWhatTheFakeModelWrites()
    {
        // The fake applies the penalties to its logits like the engine: a strong penalty breaks the scripted repetition.
        string plain = (await Run(new ChatOptions { MaxOutputTokens = 6 }, _ => "a a a a a a")).Response.Text;
        string penalised = (await Run(new ChatOptions { MaxOutputTokens = 6, FrequencyPenalty = 2f }, _ => "a a a a a a")).Response.Text;
        Assert.Equal("a a a a a a", plain);
        Assert.NotEqual(plain, penalised);
    }

    [Fact]
    public async Task Instructions_BecomeSystemTextAfterTheConversationsOwn()
    {
        using var client = TestClients.Create(out FakeBackend backend);
        await client.GetResponseAsync([new(ChatRole.System, "Be kind."), new(ChatRole.User, "Hi")], new ChatOptions { Instructions = "Answer in French." });
        backend.Requests.TryDequeue(out var entry);
        Assert.Equal("Be kind.\n\nAnswer in French.\n\nUser: Hi\nAssistant:", entry.Prompt);
    }

    [Fact]
    public async Task ModelId_MatchingIsAccepted_MismatchThrows()
    {
        await Run(new ChatOptions { ModelId = "FAKE-model" });
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Run(new ChatOptions { ModelId = "gpt-4o" }));
        Assert.Contains("ModelId", ex.Message);
        Assert.Contains("gpt-4o", ex.Message);
    }

    [Theory]
    [InlineData("Temperature", float.NaN)]
    [InlineData("Temperature", -0.1f)]
    [InlineData("TopP", 0f)]
    [InlineData("TopP", 1.5f)]
    [InlineData("TopK", -1f)]
    [InlineData("MaxOutputTokens", 0f)]
    [InlineData("FrequencyPenalty", 2.5f)]
    [InlineData("PresencePenalty", float.PositiveInfinity)]
    public async Task OutOfRangeSamplingValues_ThrowNamingTheOption(string property, float value)
    {
        var options = new ChatOptions();
        switch (property)
        {
            case "Temperature": options.Temperature = value; break;
            case "TopP": options.TopP = value; break;
            case "TopK": options.TopK = (int)value; break;
            case "MaxOutputTokens": options.MaxOutputTokens = (int)value; break;
            case "FrequencyPenalty": options.FrequencyPenalty = value; break;
            case "PresencePenalty": options.PresencePenalty = value; break;
        }
        var ex = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Run(options));
        Assert.Equal("ChatOptions." + property, ex.ParamName);
    }

    [Fact]
    public async Task StopSequences_DoNotCutConstrainedJson()
    {
        var (_, _, response) = await Run(new ChatOptions { ResponseFormat = ChatResponseFormat.Json, StopSequences = ["true"] }, _ => """{"a":[1,true]}""");
        Assert.Equal("""{"a":[1,true]}""", response.Text);
    }

    [Fact]
    public async Task UnsupportedResponseSchema_FailsBeforeAnythingRuns()
    {
        using var client = TestClients.Create(out FakeBackend backend);
        var schema = JsonDocument.Parse("""{"type":"object","properties":{"when":{"type":"date"}}}""").RootElement;
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => client.GetResponseAsync([new(ChatRole.User, "x")], new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(schema) }));
        Assert.Contains("date", ex.Message);
        Assert.Equal("ChatOptions.ResponseFormat", ex.ParamName);
        Assert.Empty(backend.Requests);
    }

    [Fact]
    public async Task EmptyStopSequence_Throws()
        => await Assert.ThrowsAsync<ArgumentException>(() => Run(new ChatOptions { StopSequences = [""] }));

    [Fact]
    public async Task ResponseFormatJsonSchema_ConstrainsOutputToTheSchema()
    {
        JsonElement schema = JsonDocument.Parse("""{"type":"object","properties":{"city":{"type":"string","maxLength":6},"n":{"type":"integer"}},"required":["city","n"]}""").RootElement;
        // The fake "wants" to write prose; the constraint forces schema-valid JSON anyway.
        var (prompt, request, response) = await Run(new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(schema), MaxOutputTokens = 80 }, _ => "Once upon a time");
        Assert.IsType<JsonSchemaConstraint>(request.Constraint);
        using JsonDocument document = JsonDocument.Parse(response.Text);
        Assert.Empty(Constraints.SchemaValidator.Validate(document.RootElement, schema));
        Assert.Contains("Reply with only JSON that follows this schema", prompt);
    }

    [Fact]
    public async Task ResponseFormatJson_FollowsAScriptedDocumentExactly()
    {
        var (_, _, response) = await Run(new ChatOptions { ResponseFormat = ChatResponseFormat.Json }, _ => """{"a":[1,true]}""");
        Assert.Equal("""{"a":[1,true]}""", response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public async Task ResponseFormatText_LeavesOutputUnconstrained()
    {
        var (_, request, response) = await Run(new ChatOptions { ResponseFormat = ChatResponseFormat.Text }, _ => "Once upon");
        Assert.Null(request.Constraint);
        Assert.Equal("Once upon", response.Text);
    }

    [Fact]
    public async Task AdditionalProperties_PresetThresholdsAndMechanisms()
    {
        var (_, request, _) = await Run(new ChatOptions
        {
            AdditionalProperties = new()
            {
                ["quicksilver.policy"] = "paper",
                ["quicksilver.halting.driftThreshold"] = 0.5,
                ["quicksilver.halting.entropyThreshold"] = "0.25",
                ["quicksilver.fusion.distanceThreshold"] = JsonDocument.Parse("0.3").RootElement,
                ["quicksilver.quantization"] = false,
                ["other.key"] = "ignored",
            },
        });
        var policy = request.Policy!;
        Assert.StartsWith("paper", policy.Name);
        Assert.Equal(0.5f, policy.Halting.DriftThreshold);
        Assert.Equal(0.25f, policy.Halting.EntropyThreshold);
        Assert.Equal(0.3f, policy.Fusion.DistanceThreshold);
        Assert.True(policy.Halting.Enabled);
        Assert.True(policy.Fusion.Enabled);
        Assert.False(policy.Quantization.Enabled);
    }

    [Fact]
    public async Task AdditionalProperties_MechanismsListSetsExactlyThose()
    {
        var (_, request, _) = await Run(new ChatOptions { AdditionalProperties = new() { ["quicksilver.policy"] = "paper", ["quicksilver.mechanisms"] = "halting, kvskip" } });
        Assert.True(request.Policy!.Halting.Enabled);
        Assert.True(request.Policy.KvSkip.Enabled);
        Assert.False(request.Policy.Fusion.Enabled);
        Assert.False(request.Policy.Quantization.Enabled);
    }

    [Fact]
    public async Task AdditionalProperties_ProtectedWordsBecomeProtectedIds()
    {
        var tokenizer = new FakeTokenizer();
        var (_, request, _) = await Run(new ChatOptions { AdditionalProperties = new() { ["quicksilver.protectedWords"] = new[] { "Paris", "city" } } });
        Assert.Contains(tokenizer.IdOf("Paris"), request.ProtectedTokenIds);
        Assert.Contains(tokenizer.IdOf("city"), request.ProtectedTokenIds);
    }

    [Theory]
    [InlineData("quicksilver.policy", "turbo")]
    [InlineData("quicksilver.halting.driftThreshold", double.NaN)]
    [InlineData("quicksilver.halting.driftThreshold", -1.0)]
    [InlineData("quicksilver.fusion.distanceThreshold", "abc")]
    [InlineData("quicksilver.halting", "maybe")]
    [InlineData("quicksilver.mechanisms", "halting,warp")]
    [InlineData("quicksilver.protectedWords", 42)]
    [InlineData("quicksilver.haltng", true)]
    public async Task AdditionalProperties_BadValues_ThrowNamingTheKey(string key, object value)
    {
        var ex = await Assert.ThrowsAnyAsync<ArgumentException>(() => Run(new ChatOptions { AdditionalProperties = new() { [key] = value } }));
        Assert.Equal(key, ex.ParamName);
        Assert.Contains(key, ex.Message);
    }

    [Fact]
    public async Task QuantizationLowAboveHigh_Throws()
    {
        var ex = await Assert.ThrowsAnyAsync<ArgumentException>(() => Run(new ChatOptions
        {
            AdditionalProperties = new() { ["quicksilver.quantization.lowThreshold"] = 3.0, ["quicksilver.quantization.highThreshold"] = 1.0 },
        }));
        Assert.Contains("lowThreshold", ex.Message);
    }

    [Fact]
    public async Task RequestOverrides_DoNotLeakIntoTheNextRequest()
    {
        using var client = TestClients.Create(out FakeBackend backend);
        await client.GetResponseAsync(Ask("a"), new ChatOptions { AdditionalProperties = new() { ["quicksilver.policy"] = "paper" } });
        await client.GetResponseAsync(Ask("b"));
        GenerationRequest[] requests = [.. backend.Requests.Select(r => r.Request)];
        Assert.StartsWith("paper", requests[0].Policy!.Name);
        Assert.Equal("dense", requests[1].Policy!.Name);
        Assert.Equal("dense", client.CurrentPolicy.Name);
    }
}
