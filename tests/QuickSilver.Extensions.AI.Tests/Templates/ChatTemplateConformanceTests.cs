using System.Text.Json;
using System.Text.Json.Nodes;
using QuickSilver.Extensions.AI.Templates;
using QuickSilver.Testing;

namespace QuickSilver.Extensions.AI.Tests.Templates;

/// <summary>
/// The real Llama 3.1 Instruct and Qwen3 chat templates (../shared/fixtures/chat-templates) against Python Jinja2's
/// renders of 10 conversations with tools, tool calls and tool results, with the variables transformers passes: exact text,
/// and an error where Jinja2 raised.
/// </summary>
public sealed class ChatTemplateConformanceTests
{
    private static string Dir => SharedAssets.Path("fixtures", "chat-templates");

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        using JsonDocument expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "expected-jinja2.json")));
        foreach (JsonElement result in expected.RootElement.GetProperty("results").EnumerateArray())
        {
            data.Add(result.GetProperty("template").GetString()!, result.GetProperty("conversation").GetString()!);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Template_MatchesJinja2Reference(string templateName, string conversationId)
    {
        JsonNode templateEntry = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "templates.json")))!.AsArray()
            .Single(t => (string?)t!["name"] == templateName)!;
        JsonNode conversation = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "conversations.json")))!.AsArray()
            .Single(c => (string?)c!["id"] == conversationId)!;
        JsonNode reference = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "expected-jinja2.json")))!["results"]!.AsArray()
            .Single(r => (string?)r!["template"] == templateName && (string?)r["conversation"] == conversationId)!;

        var template = new JinjaChatTemplate(File.ReadAllText(Path.Combine(Dir, (string)templateEntry["file"]!)));
        JsonElement variables = HfVariables(templateEntry["vars"]!.AsObject(), conversation);

        if ((bool)reference["ok"]!)
        {
            Assert.Equal((string)reference["text"]!, template.Render(variables));
        }
        else
        {
            Assert.Throws<ChatTemplateException>(() => template.Render(variables));
        }
    }

    [Theory]
    [InlineData("qwen3.jinja", true)]
    [InlineData("llama-3.1-instruct.jinja", true)]
    public void RealTemplates_DeclareToolSupport(string file, bool supportsTools)
        => Assert.Equal(supportsTools, new JinjaChatTemplate(File.ReadAllText(Path.Combine(Dir, file))).SupportsTools);

    /// <summary>What transformers' apply_chat_template passes: the special tokens, messages, tools (None when absent) and add_generation_prompt.</summary>
    internal static JsonElement HfVariables(JsonObject vars, JsonNode conversation)
    {
        var all = new JsonObject();
        foreach (KeyValuePair<string, JsonNode?> kv in vars) all[kv.Key] = kv.Value?.DeepClone();
        all["messages"] = conversation["messages"]!.DeepClone();
        all["tools"] = conversation["tools"]?.DeepClone();
        all["add_generation_prompt"] = conversation["add_generation_prompt"]!.DeepClone();
        return JsonSerializer.SerializeToElement(all);
    }
}
