using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;
using QuickSilver.Extensions.AI.Templates;
using QuickSilver.Extensions.AI.Tests.Fakes;

namespace QuickSilver.Extensions.AI.Tests.Chat;

public class PolicyMetricsAndTemplateTests
{
    private static List<ChatMessage> Ask(string text) => [new(ChatRole.User, text)];

    [Fact]
    public async Task UpdateOptions_RunningRequestKeepsItsPolicy_NextRequestGetsTheNewOne()
    {
        using var gate = new ManualResetEventSlim(false);
        var backend = new FakeBackend { Gate = gate };
        using var client = TestClients.Create(backend, o => o.Policy = "dense");

        Task<ChatResponse> running = client.GetResponseAsync(Ask("first"));
        Assert.True(await backend.Started.WaitAsync(TimeSpan.FromSeconds(30)));   // decoding has begun and is held at the gate
        client.UpdateOptions(new QuickSilverOptions { Template = "plain", Policy = "paper" });
        Task<ChatResponse> queued = client.GetResponseAsync(Ask("second"));
        gate.Set();
        await Task.WhenAll(running, queued);

        var requests = backend.Requests.ToArray();
        Assert.Equal("dense", requests[0].Request.Policy!.Name);
        Assert.Equal("paper", requests[1].Request.Policy!.Name);
        Assert.Equal("paper", client.CurrentPolicy.Name);
    }

    [Fact]
    public void UpdateOptions_Invalid_ThrowsAndKeepsThePolicy()
    {
        using var client = TestClients.Create(out _);
        var ex = Assert.Throws<QuickSilverException>(() => client.UpdateOptions(new QuickSilverOptions { Policy = "warp" }));
        Assert.Contains("Policy", ex.Message);
        Assert.Equal("dense", client.CurrentPolicy.Name);
    }

    [Fact]
    public async Task OptionsLexiconsAndOverrides_ShapeThePolicy()
    {
        using var client = TestClients.Create(out FakeBackend backend, configure: o =>
        {
            o.Policy = "safe";
            o.PolicyOverrides.DriftThreshold = 0.3f;
            o.PolicyOverrides.Fusion = true;
            o.Lexicons.FullProcessing.Add("dragon");
            o.Lexicons.ForcedHaltIds.Add(7);
        });
        await client.GetResponseAsync(Ask("x"));
        var policy = backend.Requests.Single().Request.Policy!;
        Assert.Equal(0.3f, policy.Halting.DriftThreshold);
        Assert.True(policy.Fusion.Enabled);
        Assert.Contains("dragon", policy.Lexicons.FullProcessing);
        Assert.Contains(7, policy.Lexicons.ForcedHaltIds);
    }

    [Fact]
    public async Task Metrics_AreRecordedOnTheQuickSilverMeter()
    {
        var backend = new FakeBackend(_ => "Hello world", modelId: "metrics-model-" + Guid.NewGuid().ToString("N"));
        var measurements = new List<(string Name, double Value)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "QuickSilver") l.EnableMeasurementEvents(instrument);
        };
        void OnMeasurement(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "quicksilver.model" && (string?)tag.Value == backend.ModelId)
                {
                    lock (measurements) measurements.Add((instrument.Name, value));
                }
            }
        }
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => OnMeasurement(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => OnMeasurement(i, v, t));
        listener.Start();

        using var client = TestClients.Create(backend);
        ChatResponse response = await client.GetResponseAsync(Ask("Hi"), new ChatOptions { AdditionalProperties = new() { ["quicksilver.halting"] = true } });
        listener.RecordObservableInstruments();

        double Sum(string name) => measurements.Where(m => m.Name == name).Sum(m => m.Value);
        Assert.Equal(response.Usage!.InputTokenCount, (long)Sum("quicksilver.tokens.input"));
        Assert.Equal(2, Sum("quicksilver.tokens.output"));
        Assert.Equal(4, Sum("quicksilver.halted_token_layers"));
        Assert.Equal(0, Sum("quicksilver.fused_tokens"));
        Assert.Equal(400 * (response.Usage.TotalTokenCount!.Value), Sum("quicksilver.flops.saved"));
        Assert.Equal(0.01, Sum("quicksilver.time_to_first_token"), 6);
        Assert.Equal(2 / 0.03, Sum("quicksilver.tokens_per_second"), 6);   // 2 tokens in three 10 ms steps
    }

    [Fact]
    public async Task AutoTemplate_UsesTheModelsOwnJinjaTemplate_AndMapsSpecialTokens()
    {
        var backend = new FakeBackend();
        backend.MetadataValues["tokenizer.chat_template"] = Templates.JinjaTemplateTests.ChatMLSource;
        using var client = TestClients.Create(backend, o => o.Template = "auto");
        Assert.Equal("jinja", client.Template.Name);
        await client.GetResponseAsync(Ask("Hi"));
        var tokenizer = backend.FakeTokenizer;
        string prompt = backend.Requests.Single().Prompt;
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", prompt);
        // The fake's plain Encode never produces the <|im_start|> piece: the prompt builder mapped the text to its id.
        var usage = (await client.GetResponseAsync(Ask("Hi"))).Usage!;
        Assert.Equal(tokenizer.Encode("user\nHi", false).Count + tokenizer.Encode("\n", false).Count + tokenizer.Encode("assistant\n", false).Count + 3, usage.InputTokenCount);
    }

    [Fact]
    public void AutoTemplate_WithoutModelTemplate_IsPlain()
    {
        using var client = TestClients.Create(new FakeBackend(), o => o.Template = "auto");
        Assert.Same(ChatTemplate.Plain, client.Template);
    }

    [Fact]
    public void AutoTemplate_Unsupported_FailsAtLoadNamingTheConstruct()
    {
        // Issue 9 changed this: a model's template that cannot be rendered is reported when the client is created,
        // instead of silently prompting the model in the plain format.
        var backend = new FakeBackend();
        backend.MetadataValues["tokenizer.chat_template"] = "{{ messages | frobnicate }}";
        var ex = Assert.Throws<QuickSilverException>(() => TestClients.Create(backend, o => o.Template = "auto"));
        Assert.Contains("frobnicate", ex.Message);
        Assert.Contains("QuickSilver:Template", ex.Message);
    }

    [Fact]
    public async Task TemplateOption_SelectsABuiltIn()
    {
        using var client = TestClients.Create(out FakeBackend backend, configure: o => o.Template = "chatml");
        await client.GetResponseAsync([new(ChatRole.System, "S"), new(ChatRole.User, "U")]);
        Assert.Equal("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n", backend.Requests.Single().Prompt);
    }

    [Fact]
    public async Task TemplateText_OverridesTheTemplateName()
    {
        using var client = TestClients.Create(out FakeBackend backend, configure: o => o.TemplateText = "{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}>");
        await client.GetResponseAsync(Ask("Hi"));
        Assert.Equal("[user]Hi>", backend.Requests.Single().Prompt);
    }

    [Fact]
    public async Task TemplateStopSequence_EndsTheChatMLTurn()
    {
        using var client = TestClients.Create(out _, _ => "Fine<|im_end|>more", o => o.Template = "chatml");
        Assert.Equal("Fine", (await client.GetResponseAsync(Ask("x"))).Text);
    }
}
