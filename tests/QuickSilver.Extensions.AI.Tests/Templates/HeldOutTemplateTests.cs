using System.Text.Json;
using System.Text.Json.Nodes;
using QuickSilver.Extensions.AI.Templates;

namespace QuickSilver.Extensions.AI.Tests.Templates;

/// <summary>
/// Real templates the fixtures do not cover (Templates/HeldOut, sources in SOURCES.md): each parses, and renders a tool
/// conversation in its model's documented layout, or raises where the model's authors made it raise.
/// </summary>
public sealed class HeldOutTemplateTests
{
    private const string WeatherTool = """
        {"type": "function", "function": {"name": "get_weather", "description": "Get the weather",
         "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
           "days": {"type": "array", "items": {"type": "integer"}, "description": "Days ahead"}}, "required": ["city"]}}}
        """;

    private static JinjaChatTemplate Load(string file)
        => new(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Templates", "HeldOut", file)));

    /// <summary>A tool round trip in HF's message shape: user, assistant call (id of 9 alphanumerics, as Mistral requires), tool result.</summary>
    private static JsonElement ToolConversation(bool argumentsAsString = false, bool addGenerationPrompt = true, string system = "Be brief.")
    {
        JsonNode arguments = argumentsAsString ? JsonValue.Create("{\"city\": \"Paris\"}") : new JsonObject { ["city"] = "Paris" };
        var messages = new JsonArray
        {
            new JsonObject { ["role"] = "system", ["content"] = system },
            new JsonObject { ["role"] = "user", ["content"] = "Weather in Paris?" },
            new JsonObject
            {
                ["role"] = "assistant", ["content"] = "",
                ["tool_calls"] = new JsonArray(new JsonObject
                {
                    ["id"] = "abc123XYZ", ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = "get_weather", ["arguments"] = arguments },
                }),
            },
            new JsonObject { ["role"] = "tool", ["tool_call_id"] = "abc123XYZ", ["name"] = "get_weather", ["content"] = "{\"temp\": 21}" },
        };
        var vars = new JsonObject
        {
            ["messages"] = messages,
            ["tools"] = new JsonArray(JsonNode.Parse(WeatherTool)),
            ["add_generation_prompt"] = addGenerationPrompt,
            ["bos_token"] = "<s>",
            ["eos_token"] = "</s>",
        };
        return JsonSerializer.SerializeToElement(vars);
    }

    private static JsonElement Chat(params (string Role, string Content)[] messages)
    {
        var vars = new JsonObject
        {
            ["messages"] = new JsonArray([.. messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]),
            ["tools"] = null,
            ["add_generation_prompt"] = true,
            ["bos_token"] = "<bos>",
            ["eos_token"] = "<eos>",
        };
        return JsonSerializer.SerializeToElement(vars);
    }

    [Theory]
    [InlineData("gemma-3-it.jinja", false)]
    [InlineData("mistral-nemo-instruct-2407.jinja", true)]
    [InlineData("hermes-3-llama-3.1-tool-use.jinja", true)]
    [InlineData("gpt-oss-120b.jinja", true)]
    [InlineData("deepseek-r1-distill-qwen-32b.jinja", false)]
    [InlineData("phi-4-mini-instruct.jinja", true)]
    [InlineData("llama-3.2-3b-instruct.jinja", true)]
    public void Parses_AndReportsToolSupport(string file, bool supportsTools) => Assert.Equal(supportsTools, Load(file).SupportsTools);

    [Fact]
    public void Gemma3_FoldsSystemIntoFirstUserTurn_AndRefusesNonAlternatingRoles()
    {
        JinjaChatTemplate template = Load("gemma-3-it.jinja");
        Assert.Equal(
            "<bos><start_of_turn>user\nBe kind.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n",
            template.Render(Chat(("system", "Be kind."), ("user", " Hi "), ("assistant", "Hello!"), ("user", "Bye"))));
        var ex = Assert.Throws<ChatTemplateException>(() => template.Render(ToolConversation()));
        Assert.Contains("Conversation roles must alternate", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MistralNemo_RendersAvailableToolsToolCallsAndResults()
    {
        string text = Load("mistral-nemo-instruct-2407.jinja").Render(ToolConversation());
        Assert.StartsWith("<s>[AVAILABLE_TOOLS][{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Get the weather\", \"parameters\": {\"type\": \"object\"", text, StringComparison.Ordinal);
        // The system text joins only the last user turn, and this user turn is not the last message.
        Assert.Contains("[/AVAILABLE_TOOLS][INST]Weather in Paris?[/INST]", text, StringComparison.Ordinal);
        Assert.Contains("[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}, \"id\": \"abc123XYZ\"}]</s>", text, StringComparison.Ordinal);
        Assert.EndsWith("[TOOL_RESULTS]{\"content\": {\"temp\": 21}, \"call_id\": \"abc123XYZ\"}[/TOOL_RESULTS]", text, StringComparison.Ordinal);
    }

    [Fact]
    public void MistralNemo_RaisesOnCallIdsThatAreNotNineCharacters()
    {
        string json = ToolConversation().GetRawText().Replace("abc123XYZ", "call_1", StringComparison.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(json);
        var ex = Assert.Throws<ChatTemplateException>(() => Load("mistral-nemo-instruct-2407.jinja").Render(doc.RootElement));
        Assert.Contains("length 9", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Hermes3_RendersToolSignaturesCallsAndResponses()
    {
        string text = Load("hermes-3-llama-3.1-tool-use.jinja").Render(ToolConversation());
        // "list[Union[]]" is what Jinja2 prints too: the template passes json_spec|items (pairs), not json_spec['items'].
        Assert.Contains("\"description\": \"get_weather(city: str, days: list[Union[]]) - Get the weather\n\n    Args:\n        city(str): City name        days(list[Union[]]): Days ahead\"", text, StringComparison.Ordinal);
        Assert.Contains("<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n", text, StringComparison.Ordinal);
        Assert.EndsWith("<|im_start|>tool\n<tool_response>\n{\"temp\": 21}\n</tool_response><|im_end|><|im_start|>assistant\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void GptOss_RendersHarmonyToolNamespaceCallAndResult()
    {
        string text = Load("gpt-oss-120b.jinja").Render(ToolConversation());
        Assert.StartsWith("<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: 2024-06\nCurrent date: ", text, StringComparison.Ordinal);
        Assert.Contains("Reasoning: medium\n\n# Valid channels: analysis, commentary, final. Channel must be included for every message.\nCalls to these tools must go to the commentary channel: 'functions'.<|end|>", text, StringComparison.Ordinal);
        Assert.Contains("<|start|>developer<|message|># Instructions\n\nBe brief.\n\n# Tools\n\n## functions\n\nnamespace functions {\n\n// Get the weather\ntype get_weather = (_: {\n// City name\ncity: string,\n// Days ahead\ndays?: number[],\n}) => any;\n\n} // namespace functions<|end|>", text, StringComparison.Ordinal);
        Assert.Contains("<|start|>user<|message|>Weather in Paris?<|end|><|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>{\"city\": \"Paris\"}<|call|>", text, StringComparison.Ordinal);
        Assert.EndsWith("<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>\"{\\\"temp\\\": 21}\"<|end|><|start|>assistant", text, StringComparison.Ordinal);
    }

    [Fact]
    public void DeepSeekR1_RendersToolCallsWithStringArgumentsAndDropsThinking()
    {
        JinjaChatTemplate template = Load("deepseek-r1-distill-qwen-32b.jinja");
        string text = template.Render(ToolConversation(argumentsAsString: true));
        Assert.Equal(
            "<s>Be brief.<｜User｜>Weather in Paris?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜><｜Assistant｜><｜end▁of▁sentence｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>{\"temp\": 21}<｜tool▁output▁end｜><｜tool▁outputs▁end｜>",
            text);
        Assert.Equal("<bos><｜User｜>2+2?<｜Assistant｜>4<｜end▁of▁sentence｜><｜User｜>3+3?<｜Assistant｜><think>\n",
            template.Render(Chat(("user", "2+2?"), ("assistant", "<think>add</think>4"), ("user", "3+3?"))));
        // The template concatenates arguments as text: a mapping is a type error in Jinja2 too.
        Assert.Throws<ChatTemplateException>(() => template.Render(ToolConversation()));
    }

    [Fact]
    public void Phi4Mini_RendersToolsCallsAndResponses()
    {
        string text = Load("phi-4-mini-instruct.jinja").Render(ToolConversation());
        Assert.Equal(
            "<|system|>Be brief.<|tool|>{\"name\": \"get_weather\", \"description\": \"Get the weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", \"description\": \"City name\"}, \"days\": {\"type\": \"array\", \"items\": {\"type\": \"integer\"}, \"description\": \"Days ahead\"}}, \"required\": [\"city\"]}}<|/tool|>"
            + "You are a helpful assistant with some tools.\nTo use a tool, respond in this format: <|tool_call|>{\"name\": \"foo\", \"arguments\": {\"a\": 1}}<|/tool_call|><|end|>"
            + "<|user|>Weather in Paris?<|end|><|assistant|><|tool_call|>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}<|/tool_call|><|end|>"
            + "<|tool_response|>\"{\\\"temp\\\": 21}\"<|end|><|assistant|>",
            text);
    }

    [Fact]
    public void Llama32_PrintsTodaysDateToolsInTheUserTurnAndQuotesStringResults()
    {
        string text = Load("llama-3.2-3b-instruct.jinja").Render(ToolConversation());
        string today = DateTime.Now.ToString("dd MMM yyyy", System.Globalization.CultureInfo.InvariantCulture);
        Assert.StartsWith("<s><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\nCutting Knowledge Date: December 2023\nToday Date: " + today + "\n\nBe brief.<|eot_id|>", text, StringComparison.Ordinal);
        Assert.Contains("<|start_header_id|>user<|end_header_id|>\n\nGiven the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\n", text, StringComparison.Ordinal);
        Assert.Contains("{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"get_weather\",", text, StringComparison.Ordinal);
        Assert.Contains("Weather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}<|eot_id|>", text, StringComparison.Ordinal);
        // A string is iterable in Jinja2, so the template JSON-quotes a text tool result.
        Assert.EndsWith("<|start_header_id|>ipython<|end_header_id|>\n\n\"{\\\"temp\\\": 21}\"<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void RequestPath_RendersMappingArgumentsLikeTheRawPath()
    {
        JinjaChatTemplate template = Load("hermes-3-llama-3.1-tool-use.jinja");
        var request = new ChatTemplateRequest(
        [
            new ChatTemplateMessage("system", "Be brief."),
            new ChatTemplateMessage("user", "Weather in Paris?"),
            new ChatTemplateMessage("assistant", "") { ToolCalls = [new ChatTemplateToolCall("abc123XYZ", "get_weather", "{\"city\":\"Paris\"}")] },
            new ChatTemplateMessage("tool", "{\"temp\": 21}") { ToolCallId = "abc123XYZ", Name = "get_weather" },
        ])
        {
            Tools = [JsonDocument.Parse(WeatherTool).RootElement],
            AddGenerationPrompt = true,
            BosToken = "<s>",
            EosToken = "</s>",
        };
        Assert.Equal(template.Render(ToolConversation()), template.Render(request));
    }
}
