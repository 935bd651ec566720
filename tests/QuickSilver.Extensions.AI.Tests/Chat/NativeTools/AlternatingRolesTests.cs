using System.Text.Json;
using Microsoft.Extensions.AI;
using QuickSilver.Extensions.AI.Tests.Fakes;

namespace QuickSilver.Extensions.AI.Tests.Chat.NativeTools;

/// <summary>
/// Templates without tool support keep the generic JSON protocol, and it must not break templates that insist on
/// alternating user/assistant turns (Gemma 3 raised "Conversation roles must alternate" on every tool result).
/// </summary>
public class AlternatingRolesTests
{
    /// <summary>A template in Gemma's layout and with its role check, written for this test (no tool support, no system role).</summary>
    private const string GemmaStyleTemplate =
        "{{ bos_token }}{%- if messages[0]['role'] == 'system' -%}{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}"
        + "{%- set loop_messages = messages[1:] -%}{%- else -%}{%- set first_user_prefix = '' -%}{%- set loop_messages = messages -%}{%- endif -%}"
        + "{%- for message in loop_messages -%}"
        + "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{%- endif -%}"
        + "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
        + "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') + message['content'] | trim + '<end_of_turn>\n' }}"
        + "{%- endfor -%}{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}";

    private static readonly AIFunction Weather = AIFunctionFactory.Create((string city) => $"Sunny in {city}", "get_weather", "Get the weather.");
    private static readonly AIFunction Time = AIFunctionFactory.Create((string zone) => "12:00", "get_time", "Get the time.");

    [Fact]
    public async Task ToolResultsAreFoldedIntoUserTurns_SoTheRoleCheckPasses()
    {
        var tokenizer = new AddedTokensTokenizer(AddedTokensTokenizer.Gpt2.Value,
            [("<bos>", true), ("<eos>", true), ("<start_of_turn>", true), ("<end_of_turn>", true)], bos: "<bos>", eos: "<eos>");
        var backend = new LogitsSourceBackend(tokenizer, prompt => tokenizer.EncodeWithSpecialTokens(tokenizer.Spell(prompt).Contains("Result of get_time")
            ? "It is sunny and noon."
            : """[{"name":"get_weather","arguments":{"city":"Paris"}},{"name":"get_time","arguments":{"zone":"CET"}}]""", addBos: false));
        var inner = new QuickSilverChatClient(backend, ownsBackend: true, new QuickSilverOptions { TemplateText = GemmaStyleTemplate }, null, null);
        IChatClient client = new ChatClientBuilder(inner).UseFunctionInvocation().Build();

        ChatResponse response = await client.GetResponseAsync(
            [new(ChatRole.System, "Be brief."), new(ChatRole.User, "Weather and time in Paris?")],
            new ChatOptions { Tools = [Weather, Time] });

        Assert.Equal("It is sunny and noon.", response.Text);
        Assert.Equal(2, response.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Count());
        Assert.Contains(tokenizer.IdOf("<end_of_turn>"), backend.Calls[0].Request.StopTokenIds);
        string second = AddedTokensTokenizer.Spell(tokenizer, backend.Calls[1].Prompt);
        Assert.Contains("<start_of_turn>model\n{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}\n{\"name\":\"get_time\"", second);
        Assert.Contains("<start_of_turn>user\nResult of get_weather: Sunny in Paris\nResult of get_time: 12:00<end_of_turn>\n<start_of_turn>model\n", second);
    }
}
