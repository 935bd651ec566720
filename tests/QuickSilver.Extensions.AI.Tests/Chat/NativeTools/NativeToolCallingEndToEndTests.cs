using System.Text.Json;
using Microsoft.Extensions.AI;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Extensions.AI.Templates;
using QuickSilver.Extensions.AI.Tests.Fakes;
using QuickSilver.Testing;

namespace QuickSilver.Extensions.AI.Tests.Chat.NativeTools;

/// <summary>
/// One tool-calling round trip per native protocol, through <c>UseFunctionInvocation</c>: the model's call in its own
/// syntax becomes a <see cref="FunctionCallContent"/>, the tool runs, and the next prompt is exactly what the model's real
/// template renders for the Hugging Face form of the same conversation. The engine is only a logits source (see
/// <see cref="LogitsSourceBackend"/>); sampling, constrained decoding, stop ids, streaming and parsing are the product's.
/// </summary>
public class NativeToolCallingEndToEndTests
{
    private static Lazy<ITokenizer> Gpt2 => AddedTokensTokenizer.Gpt2;

    private static readonly AIFunction Weather = AIFunctionFactory.Create(
        (string city, int days) => $"Sunny in {city} for {days} days", "get_weather", "Get the weather for a city.");

    private static string Template(string file) => File.ReadAllText(SharedAssets.Path("fixtures", "chat-templates", file));

    private static readonly Lazy<ITokenizer> Qwen3 = new(() => HuggingFaceTokenizer.Load(SharedAssets.Path("fixtures", "real-tokenizers", "qwen3", "tokenizer.json")));
    private static readonly Lazy<ITokenizer> Llama3 = new(() => HuggingFaceTokenizer.Load(SharedAssets.Path("fixtures", "real-tokenizers", "llama3_1", "tokenizer.json")));

    private static (IChatClient Client, LogitsSourceBackend Backend) Create(ITokenizer tokenizer, string template, Func<string, string> script)
    {
        var backend = new LogitsSourceBackend(tokenizer, prompt => tokenizer.EncodeWithSpecialTokens(script(AddedTokensTokenizer.Spell(tokenizer, prompt)), addBos: false));
        var inner = new QuickSilverChatClient(backend, ownsBackend: true, new QuickSilverOptions { TemplateText = template }, null, null);
        return (new ChatClientBuilder(inner).UseFunctionInvocation().Build(), backend);
    }

    /// <summary>What the template renders for the HF-shaped conversation (the reference a conforming client must send).</summary>
    private static string HfRender(string template, object variables)
        => ChatTemplate.FromJinja(template).Render(JsonSerializer.SerializeToElement(variables));

    private static object ToolSpec => new
    {
        type = "function",
        function = new
        {
            name = "get_weather",
            description = "Get the weather for a city.",
            parameters = JsonSerializer.Deserialize<JsonElement>(Weather.JsonSchema.GetRawText()),
        },
    };

    [Fact]
    public async Task QwenHermes_ThinkCallResultAnswer()
    {
        // Qwen3's real tokenizer: <tool_call>, <think> and <tool_response> are its (non-special) added tokens, <|im_end|> its EOS.
        ITokenizer tokenizer = Qwen3.Value;
        string template = Template("qwen3.jinja");
        (IChatClient client, LogitsSourceBackend backend) = Create(tokenizer, template, prompt => prompt.Contains("<tool_response>")
            ? "It is sunny in Paris."
            : "<think>\nThe user wants the weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\":\"Paris\",\"days\":2}}\n</tool_call>");

        ChatResponse response = await client.GetResponseAsync([new(ChatRole.User, "Weather in Paris for 2 days?")], new ChatOptions { Tools = [Weather] });

        Assert.Equal("It is sunny in Paris.", response.Text);
        FunctionCallContent call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("Paris", ((JsonElement)call.Arguments!["city"]!).GetString());
        Assert.Equal("\nThe user wants the weather.\n", Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<TextReasoningContent>()).Text);
        Assert.Equal(2, backend.Calls.Count);
        Assert.Contains(tokenizer.EncodeWithSpecialTokens("<|im_end|>", addBos: false).Single(), backend.Calls[0].Request.StopTokenIds);
        Assert.Contains(tokenizer.EncodeWithSpecialTokens("<|endoftext|>", addBos: false).Single(), backend.Calls[0].Request.StopTokenIds);

        string expected = HfRender(template, new
        {
            messages = new object[]
            {
                new { role = "user", content = "Weather in Paris for 2 days?" },
                new { role = "assistant", content = "", tool_calls = new[] { new { id = call.CallId, type = "function", function = new { name = "get_weather", arguments = new { city = "Paris", days = 2 } } } } },
                new { role = "tool", tool_call_id = call.CallId, name = "get_weather", content = "Sunny in Paris for 2 days" },
            },
            tools = new[] { ToolSpec },
            add_generation_prompt = true,
            eos_token = "<|im_end|>",
        });
        Assert.Equal(expected, AddedTokensTokenizer.Spell(tokenizer, backend.Calls[1].Prompt));
        Assert.Contains("<tool_response>\nSunny in Paris for 2 days\n</tool_response>", expected);
        Assert.Equal(tokenizer.EncodeWithSpecialTokens(expected, addBos: false), backend.Calls[1].Prompt);
    }

    [Fact]
    public async Task Llama31_PythonTagCallResultAnswer()
    {
        var tokenizer = new AddedTokensTokenizer(Gpt2.Value,
            [("<|begin_of_text|>", true), ("<|start_header_id|>", true), ("<|end_header_id|>", true), ("<|eot_id|>", true), ("<|eom_id|>", true), ("<|python_tag|>", true)],
            bos: "<|begin_of_text|>", eos: "<|eot_id|>");
        string template = Template("llama-3.1-instruct.jinja");
        (IChatClient client, LogitsSourceBackend backend) = Create(tokenizer, template, prompt => prompt.Contains("<|start_header_id|>ipython")
            ? "It is sunny in Paris."
            : "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\":\"Paris\",\"days\":2}}<|eom_id|>");

        ChatResponse response = await client.GetResponseAsync([new(ChatRole.User, "Weather in Paris for 2 days?")], new ChatOptions { Tools = [Weather] });

        Assert.Equal("It is sunny in Paris.", response.Text);
        FunctionCallContent call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal(2L, ((JsonElement)call.Arguments!["days"]!).GetInt64());
        Assert.Contains(tokenizer.IdOf("<|eom_id|>"), backend.Calls[0].Request.StopTokenIds);
        string expected = HfRender(template, new
        {
            messages = new object[]
            {
                new { role = "user", content = "Weather in Paris for 2 days?" },
                new { role = "assistant", content = "", tool_calls = new[] { new { id = call.CallId, type = "function", function = new { name = "get_weather", arguments = new { city = "Paris", days = 2 } } } } },
                new { role = "tool", tool_call_id = call.CallId, name = "get_weather", content = "Sunny in Paris for 2 days" },
            },
            tools = new[] { ToolSpec },
            add_generation_prompt = true,
            bos_token = "<|begin_of_text|>",
            eos_token = "<|eot_id|>",
        });
        Assert.Equal(expected, AddedTokensTokenizer.Spell(tokenizer, backend.Calls[1].Prompt));
        Assert.Contains("<|start_header_id|>ipython<|end_header_id|>\n\n\"Sunny in Paris for 2 days\"<|eot_id|>", expected);
    }

    [Fact]
    public async Task NamedToolUseTemplate_IsRenderedWhenToolsAreOffered()
    {
        const string plain = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
        string toolUse = Template("qwen3.jinja");
        var tokenizer = new AddedTokensTokenizer(Gpt2.Value,
            [("<|im_start|>", true), ("<|im_end|>", true), ("<tool_call>", false), ("</tool_call>", false), ("<think>", false), ("</think>", false)], bos: null, eos: "<|im_end|>")
        {
            ChatTemplate = plain,
            NamedChatTemplates = new Dictionary<string, string> { ["default"] = plain, ["tool_use"] = toolUse },
        };
        var backend = new LogitsSourceBackend(tokenizer, _ => tokenizer.EncodeWithSpecialTokens("Hi.", addBos: false));
        using var client = new QuickSilverChatClient(backend, ownsBackend: true, new QuickSilverOptions { Template = "auto" }, null, null);

        await client.GetResponseAsync([new(ChatRole.User, "Hello")]);
        await client.GetResponseAsync([new(ChatRole.User, "Hello")], new ChatOptions { Tools = [Weather] });

        Assert.Equal("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n", AddedTokensTokenizer.Spell(tokenizer, backend.Calls[0].Prompt));
        Assert.Contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\"", AddedTokensTokenizer.Spell(tokenizer, backend.Calls[1].Prompt));
    }

    [Fact]
    public async Task Qwen_AMarkerInsideThinking_IsNotACall()
    {
        ITokenizer tokenizer = Qwen3.Value;
        (IChatClient client, _) = Create(tokenizer, Template("qwen3.jinja"), _ => "<think>\nI could write <tool_call> but no tool is needed.\n</think>\n\nParis is in France.");

        ChatResponse response = await client.GetResponseAsync([new(ChatRole.User, "Where is Paris?")], new ChatOptions { Tools = [Weather] });

        Assert.Equal("Paris is in France.", response.Text);
        Assert.Empty(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Contains("<tool_call>", Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<TextReasoningContent>()).Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public async Task Llama3_RealTokenizer_BareJsonCallResultAnswer()
    {
        // The fixture's Llama 3 tokenizer has no <|python_tag|>/<|eom_id|> (reserved ids there): the model writes the bare
        // JSON object, as the 3.1 template shows custom-tool calls in the history, and ends its turn with <|eot_id|>.
        ITokenizer tokenizer = Llama3.Value;
        string template = Template("llama-3.1-instruct.jinja");
        (IChatClient client, LogitsSourceBackend backend) = Create(tokenizer, template, prompt => prompt.Contains("<|start_header_id|>ipython")
            ? "It is sunny in Paris."
            : "{\"name\": \"get_weather\", \"parameters\": {\"city\":\"Paris\",\"days\":2}}");

        ChatResponse response = await client.GetResponseAsync([new(ChatRole.User, "Weather in Paris for 2 days?")], new ChatOptions { Tools = [Weather] });

        Assert.Equal("It is sunny in Paris.", response.Text);
        FunctionCallContent call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("Paris", ((JsonElement)call.Arguments!["city"]!).GetString());
        Assert.Equal(tokenizer.BosTokenId, backend.Calls[0].Prompt[0]);
        Assert.Equal(1, backend.Calls[0].Prompt.Count(id => id == tokenizer.BosTokenId));
        string expected = HfRender(template, new
        {
            messages = new object[]
            {
                new { role = "user", content = "Weather in Paris for 2 days?" },
                new { role = "assistant", content = "", tool_calls = new[] { new { id = call.CallId, type = "function", function = new { name = "get_weather", arguments = new { city = "Paris", days = 2 } } } } },
                new { role = "tool", tool_call_id = call.CallId, name = "get_weather", content = "Sunny in Paris for 2 days" },
            },
            tools = new[] { ToolSpec },
            add_generation_prompt = true,
            bos_token = "<|begin_of_text|>",
            eos_token = "<|eot_id|>",
        });
        Assert.Equal(expected, AddedTokensTokenizer.Spell(tokenizer, backend.Calls[1].Prompt));
        // The prompt ids are what the reference tokenizer gives the rendered text with special tokens recognised.
        Assert.Equal(tokenizer.EncodeWithSpecialTokens(expected, addBos: false), backend.Calls[1].Prompt);
    }

    /// <summary>
    /// A template in the layout of Mistral's v3 tool format (Mistral 7B v0.3, Nemo), written for this test: tools in
    /// [AVAILABLE_TOOLS] before the last user turn, calls as [TOOL_CALLS][…] with 9-character ids, results in [TOOL_RESULTS].
    /// </summary>
    internal const string MistralStyleTemplate =
        "{{- bos_token }}{%- set user_messages = messages | selectattr('role', 'equalto', 'user') | list %}"
        + "{%- for message in messages %}"
        + "{%- if message.role == 'user' %}"
        + "{%- if tools is not none and tools is defined and message == user_messages[-1] %}{{- '[AVAILABLE_TOOLS]' + tools | tojson + '[/AVAILABLE_TOOLS]' }}{%- endif %}"
        + "{{- '[INST]' + message.content + '[/INST]' }}"
        + "{%- elif message.tool_calls is defined and message.tool_calls is not none %}"
        + "{{- '[TOOL_CALLS][' }}{%- for tc in message.tool_calls %}"
        + "{%- if tc.id | length != 9 %}{{- raise_exception('Tool call IDs should be alphanumeric strings with length 9!') }}{%- endif %}"
        + "{{- (tc.function | tojson)[:-1] + ', \"id\": \"' + tc.id + '\"}' }}{{- ', ' if not loop.last else ']' + eos_token }}{%- endfor %}"
        + "{%- elif message.role == 'assistant' %}{{- message.content + eos_token }}"
        + "{%- elif message.role == 'tool' %}{{- '[TOOL_RESULTS]{\"content\": ' + message.content | string + ', \"call_id\": \"' + message.tool_call_id + '\"}[/TOOL_RESULTS]' }}"
        + "{%- endif %}{%- endfor %}";

    [Fact]
    public async Task Mistral_ToolCallsArrayResultAnswer()
    {
        var tokenizer = new AddedTokensTokenizer(Gpt2.Value,
            [("<s>", true), ("</s>", true), ("[INST]", true), ("[/INST]", true), ("[TOOL_CALLS]", true), ("[AVAILABLE_TOOLS]", true), ("[/AVAILABLE_TOOLS]", true),
             ("[TOOL_RESULTS]", true), ("[/TOOL_RESULTS]", true)], bos: "<s>", eos: "</s>");
        (IChatClient client, LogitsSourceBackend backend) = Create(tokenizer, MistralStyleTemplate, prompt => prompt.Contains("[TOOL_RESULTS]")
            ? "It is sunny in Paris."
            : "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\":\"Paris\",\"days\":2}}]");

        ChatResponse response = await client.GetResponseAsync([new(ChatRole.User, "Weather in Paris for 2 days?")], new ChatOptions { Tools = [Weather] });

        Assert.Equal("It is sunny in Paris.", response.Text);
        FunctionCallContent call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Matches("^[A-Za-z0-9]{9}$", call.CallId);
        string second = AddedTokensTokenizer.Spell(tokenizer, backend.Calls[1].Prompt);
        Assert.Contains($"[TOOL_CALLS][{{\"name\": \"get_weather\", \"arguments\": {{\"city\": \"Paris\", \"days\": 2}}, \"id\": \"{call.CallId}\"}}]</s>", second);
        Assert.EndsWith($"[TOOL_RESULTS]{{\"content\": Sunny in Paris for 2 days, \"call_id\": \"{call.CallId}\"}}[/TOOL_RESULTS]", second);
    }

    [Fact]
    public async Task RequiredToolMode_ForcesTheNativeMarkerAndOneCall()
    {
        var tokenizer = new AddedTokensTokenizer(Gpt2.Value,
            [("<|im_start|>", true), ("<|im_end|>", true), ("<tool_call>", false), ("</tool_call>", false), ("<think>", false), ("</think>", false)], bos: null, eos: "<|im_end|>");
        // The "model" would rather chat; the constraint makes it call, in Qwen's own syntax, with valid arguments.
        var backend = new LogitsSourceBackend(tokenizer, _ => tokenizer.EncodeWithSpecialTokens("I would rather chat about the weather.", addBos: false));
        using var client = new QuickSilverChatClient(backend, ownsBackend: true, new QuickSilverOptions { TemplateText = Template("qwen3.jinja") }, null, null);

        ChatResponse response = await client.GetResponseAsync([new(ChatRole.User, "Weather?")], new ChatOptions { Tools = [Weather], ToolMode = ChatToolMode.RequireAny });

        FunctionCallContent call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_weather", call.Name);
        Assert.Equal(JsonValueKind.String, ((JsonElement)call.Arguments!["city"]!).ValueKind);
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        string reply = AddedTokensTokenizer.Spell(tokenizer, backend.Calls[0].Prompt.Count == 0 ? [] : backend.Calls.Single().Prompt);
        Assert.DoesNotContain("get_weather(", reply); // tools are rendered by the template, not described by the client
    }
}
