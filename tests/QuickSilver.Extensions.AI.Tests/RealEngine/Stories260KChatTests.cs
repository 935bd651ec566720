using System.ComponentModel;
using System.Text.Json;
using Microsoft.Extensions.AI;
using QuickSilver.Extensions.AI.Tests.Constraints;

namespace QuickSilver.Extensions.AI.Tests.RealEngine;

/// <summary>The conformance checks again, on the real engine with stories260K (a base model: plain template, BOS first).</summary>
public class Stories260KChatTests(Stories260KFixture fixture) : IClassFixture<Stories260KFixture>
{
    private static List<ChatMessage> Ask(string text) => [new(ChatRole.User, text)];

    [Fact]
    public async Task Greedy_ProducesTextUsageAndFinishReason()
    {
        using var client = fixture.CreateClient();
        ChatResponse response = await client.GetResponseAsync(Ask("Once upon a time"), new ChatOptions { MaxOutputTokens = 24 });
        Assert.False(string.IsNullOrWhiteSpace(response.Text));
        Assert.Equal(fixture.Model.ModelId, response.ModelId);
        Assert.StartsWith("stories260K", response.ModelId);
        UsageDetails usage = response.Usage!;
        Assert.True(usage.InputTokenCount > 1);
        Assert.InRange(usage.OutputTokenCount!.Value, 1, 24);
        Assert.Equal(usage.InputTokenCount + usage.OutputTokenCount, usage.TotalTokenCount);
        Assert.True(usage.AdditionalCounts!["quicksilver.dense_flops"] > 0);
        Assert.True(usage.AdditionalCounts["quicksilver.kv_bytes"] > 0);
        Assert.NotNull(response.FinishReason);
    }

    [Fact]
    public async Task Trace_IsReturnedPerPassWhenRequested_AndShowsTheHalting()
    {
        using var client = fixture.CreateClient();
        var options = new ChatOptions
        {
            MaxOutputTokens = 6,
            AdditionalProperties = new()
            {
                [QuickSilverChatOptionKeys.Trace] = true,
                [QuickSilverChatOptionKeys.Mechanisms] = "halting",
                [QuickSilverChatOptionKeys.DriftThreshold] = 1e9,
                [QuickSilverChatOptionKeys.EntropyThreshold] = 1e9,
            },
        };
        ChatResponse response = await client.GetResponseAsync(Ask("Once upon a time"), options);
        var traces = Assert.IsAssignableFrom<IReadOnlyList<QuickSilver.Engine.Runtime.TokenTrace>>(response.AdditionalProperties![QuickSilverChatClient.TraceKey]);
        int generated = (int)response.Usage!.OutputTokenCount!.Value;
        Assert.Equal(generated, traces.Count); // the prefill, then one pass per generated token but the last
        Assert.Equal((int)response.Usage.InputTokenCount!.Value, traces[0].HaltLayer.Length);
        Assert.Contains(traces.SelectMany(t => t.HaltLayer), layer => layer > 0); // the loose thresholds halted tokens

        ChatResponse plain = await client.GetResponseAsync(Ask("Once upon a time"), new ChatOptions { MaxOutputTokens = 6 });
        Assert.False(plain.AdditionalProperties?.ContainsKey(QuickSilverChatClient.TraceKey) ?? false);
    }

    [Fact]
    public async Task Streaming_EqualsNonStreaming_ForTheSameSeed()
    {
        using var client = fixture.CreateClient();
        var options = new ChatOptions { Temperature = 0.9f, Seed = 42, MaxOutputTokens = 30 };
        ChatResponse direct = await client.GetResponseAsync(Ask("Lily went"), options);
        ChatResponse merged = await client.GetStreamingResponseAsync(Ask("Lily went"), options).ToChatResponseAsync();
        Assert.Equal(direct.Text, merged.Text);
        Assert.Equal(direct.FinishReason, merged.FinishReason);
        Assert.Equal(direct.Usage!.OutputTokenCount, merged.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task Seed_IsDeterministic()
    {
        using var client = fixture.CreateClient();
        async Task<string> Run(long seed) => (await client.GetResponseAsync(Ask("The dog"), new ChatOptions { Temperature = 1.0f, Seed = seed, MaxOutputTokens = 20 })).Text;
        string a = await Run(5);
        Assert.Equal(a, await Run(5));
        var others = new HashSet<string> { await Run(6), await Run(7), await Run(8) };
        Assert.Contains(others, o => o != a);
    }

    [Fact]
    public async Task MaxOutputTokens_GivesLength()
    {
        using var client = fixture.CreateClient();
        ChatResponse response = await client.GetResponseAsync(Ask("Once upon a time"), new ChatOptions { MaxOutputTokens = 4, StopSequences = [] });
        Assert.Equal(4, response.Usage!.OutputTokenCount);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
    }

    [Fact]
    public async Task StopSequence_TruncatesTheGreedyText()
    {
        using var client = fixture.CreateClient();
        string full = (await client.GetResponseAsync(Ask("Once upon a time"), new ChatOptions { MaxOutputTokens = 40 })).Text;
        Assert.True(full.Length > 12, full);
        string stop = full.Substring(6, 4);
        ChatResponse stopped = await client.GetResponseAsync(Ask("Once upon a time"), new ChatOptions { MaxOutputTokens = 40, StopSequences = [stop] });
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
    }

    [Fact]
    public async Task Cancellation_StopsTheRequest()
    {
        using var client = fixture.CreateClient();
        using var cts = new CancellationTokenSource();
        int pieces = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync(Ask("Once"), new ChatOptions { MaxOutputTokens = 200 }, cts.Token))
            {
                if (update.Text.Length > 0 && ++pieces == 2) cts.Cancel();
            }
        });
        Assert.Equal(2, pieces);
        ChatResponse after = await client.GetResponseAsync(Ask("Once"), new ChatOptions { MaxOutputTokens = 5 });
        Assert.False(string.IsNullOrEmpty(after.Text));
    }

    [Fact]
    public async Task EightConcurrentRequests_MatchSequentialGreedyOutputs()
    {
        using var client = fixture.CreateClient();
        string[] prompts = ["Tom", "The cat", "Lily", "A big dog", "Sue and Ben", "The sun", "Mom said", "One day"];
        var options = new ChatOptions { MaxOutputTokens = 16 };
        var sequential = new List<string>();
        foreach (string p in prompts) sequential.Add((await client.GetResponseAsync(Ask(p), options)).Text);
        string[] concurrent = await Task.WhenAll(prompts.Select(p => Task.Run(async () => (await client.GetResponseAsync(Ask(p), options)).Text)));
        Assert.Equal(sequential, concurrent);
    }

    [Fact]
    public async Task MultiTurn_ReusesTheConversationsKvPrefix()
    {
        using var client = fixture.CreateClient();
        var options = new ChatOptions { ConversationId = "story-1", MaxOutputTokens = 12 };
        var history = new List<ChatMessage> { new(ChatRole.User, "Tell me about a cat") };
        ChatResponse first = await client.GetResponseAsync(history, options);
        Assert.Equal(0, first.Usage!.CachedInputTokenCount);
        history.AddRange(first.Messages);
        history.Add(new ChatMessage(ChatRole.User, "And then?"));
        ChatResponse second = await client.GetResponseAsync(history, options);
        Assert.True(second.Usage!.CachedInputTokenCount >= first.Usage.InputTokenCount - 1,
            $"cached {second.Usage.CachedInputTokenCount} of the first prompt's {first.Usage.InputTokenCount} tokens");
    }

    [Fact]
    public async Task JsonSchemaOutput_ParsesAndValidates()
    {
        using var client = fixture.CreateClient(o => o.MaxConstrainedStringLength = 16);
        JsonElement schema = JsonDocument.Parse("""
            {"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"integer"},"happy":{"type":"boolean"}},"required":["name","age","happy"]}
            """).RootElement;
        ChatResponse response = await client.GetResponseAsync(Ask("Describe Tom"), new ChatOptions
        {
            ResponseFormat = ChatResponseFormat.ForJsonSchema(schema, "person"),
            MaxOutputTokens = 50,
        });
        using JsonDocument document = JsonDocument.Parse(response.Text);
        Assert.Empty(SchemaValidator.Validate(document.RootElement, schema));
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public async Task JsonFormat_ProducesParseableJson()
    {
        using var client = fixture.CreateClient(o => o.MaxConstrainedStringLength = 12);
        ChatResponse response = await client.GetResponseAsync(Ask("Give JSON"), new ChatOptions { ResponseFormat = ChatResponseFormat.Json, MaxOutputTokens = 150 });
        using JsonDocument document = JsonDocument.Parse(response.Text);
        Assert.NotEqual(JsonValueKind.Undefined, document.RootElement.ValueKind);
    }

    [Description("Gets the weather for a city.")]
    private static string GetWeather([Description("The city")] string city, [Description("Days ahead")] int days) => $"Sunny in {city} for {days} days";

    [Description("Gets the current time in a zone.")]
    private static string GetTime(string zone) => "12:00 " + zone;

    [Fact]
    public async Task RequiredTool_ProducesAWellFormedCallToARealTool()
    {
        using var client = fixture.CreateClient(o => o.MaxConstrainedStringLength = 12);
        AIFunction weather = AIFunctionFactory.Create(GetWeather, "get_weather");
        AIFunction time = AIFunctionFactory.Create(GetTime, "get_time");
        ChatResponse response = await client.GetResponseAsync(Ask("What is the weather in Paris?"), new ChatOptions
        {
            Tools = [weather, time],
            ToolMode = ChatToolMode.RequireAny,
            MaxOutputTokens = 64,   // the budget-aware constraint closes the call in time
        });
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        FunctionCallContent call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Contains(call.Name, new[] { "get_weather", "get_time" });
        AIFunction target = call.Name == "get_weather" ? weather : time;
        using JsonDocument args = JsonDocument.Parse(JsonSerializer.Serialize(call.Arguments));
        Assert.Empty(SchemaValidator.Validate(args.RootElement, target.JsonSchema));
        Assert.False(string.IsNullOrEmpty(call.CallId));
    }

    [Fact]
    public async Task RequireSpecific_ThroughUseFunctionInvocation_RunsTheToolAndAnswers()
    {
        using var inner = fixture.CreateClient(o => o.MaxConstrainedStringLength = 10);
        int calls = 0;
        AIFunction weather = AIFunctionFactory.Create((string city, int days) => { calls++; return $"Sunny in {city}"; }, "get_weather", "Gets the weather for a city.");
        IChatClient client = new ChatClientBuilder(inner).UseFunctionInvocation(configure: f => f.MaximumIterationsPerRequest = 2).Build();
        var options = new ChatOptions { Tools = [weather], ToolMode = ChatToolMode.RequireSpecific("get_weather"), MaxOutputTokens = 60 };
        ChatResponse response = await client.GetResponseAsync(Ask("Weather in Paris?"), options);
        Assert.True(calls >= 1);
        Assert.Contains(response.Messages.SelectMany(m => m.Contents), c => c is FunctionResultContent);
    }

    [Fact]
    public void ContextLengthBeyondTheModel_IsAClearError()
    {
        var ex = Assert.Throws<QuickSilverException>(() => fixture.CreateClient(o => o.ContextLength = 100_000));
        Assert.Contains("ContextLength", ex.Message);
    }

    [Fact]
    public async Task PromptOverTheContext_IsAClearError()
    {
        using var client = fixture.CreateClient(o => o.ContextLength = 64);
        var ex = await Assert.ThrowsAsync<QuickSilver.Engine.Generation.ContextLengthExceededException>(
            () => client.GetResponseAsync(Ask(string.Join(" ", Enumerable.Repeat("The little dog ran to the park.", 20)))));
        Assert.Equal(64, ex.ContextLength);
    }

    [Fact]
    public async Task ToolCalling_ProtectsToolNameTokensOfTheRealTokenizer()
    {
        var tokenizer = fixture.Model.Tokenizer;
        AIFunction weather = AIFunctionFactory.Create(GetWeather, "get_weather");
        var request = QuickSilver.Extensions.AI.Chat.RequestPlanner.Plan(new ChatOptions { Tools = [weather] }, new QuickSilverOptions(), new QuickSilver.Policies.QuickSilverPolicy(),
            fixture.Model.ModelId, tokenizer, []).Request;
        foreach (int id in tokenizer.Encode("get_weather", addBos: false)) Assert.Contains(id, request.ProtectedTokenIds);
        foreach (int id in tokenizer.Encode("city", addBos: false)) Assert.Contains(id, request.ProtectedTokenIds);
        int brace = Enumerable.Range(0, tokenizer.VocabSize).First(i => tokenizer.TokenBytes(i) is [(byte)'{']);
        Assert.Contains(brace, request.ProtectedTokenIds);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task PerRequestThresholds_ReachTheEngine()
    {
        using var client = fixture.CreateClient();
        var dense = await client.GetResponseAsync(Ask("Once upon a time"), new ChatOptions { MaxOutputTokens = 8 });
        Assert.Equal(0, dense.Usage!.AdditionalCounts!["quicksilver.halted_token_layers"]);
        // Thresholds so loose that every token may halt as early as the policy allows.
        var halting = await client.GetResponseAsync(Ask("Once upon a time"), new ChatOptions
        {
            MaxOutputTokens = 8,
            AdditionalProperties = new()
            {
                ["quicksilver.policy"] = "safe",
                ["quicksilver.halting.driftThreshold"] = 1000.0,
                ["quicksilver.halting.entropyThreshold"] = 1000.0,
            },
        });
        Assert.True(halting.Usage!.AdditionalCounts!["quicksilver.halted_token_layers"] > 0);
    }
}
