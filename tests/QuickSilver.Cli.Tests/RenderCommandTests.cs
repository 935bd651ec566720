using System.Text.Json;
using QuickSilver.Testing;

namespace QuickSilver.Cli.Tests;

/// <summary><c>quicksilver render</c> on the real fixture templates and conversations, and its errors.</summary>
public sealed class RenderCommandTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string Fixtures(string file) => SharedAssets.Path("fixtures", "chat-templates", file);

    [Theory]
    [InlineData("qwen3")]
    [InlineData("llama-3.1-instruct")]
    public void RendersFixtureConversations_AsJinja2Does(string templateName)
    {
        using JsonDocument templates = JsonDocument.Parse(File.ReadAllText(Fixtures("templates.json")));
        JsonElement entry = templates.RootElement.EnumerateArray().Single(t => t.GetProperty("name").GetString() == templateName);
        string vars = _temp.WriteText("vars.json", entry.GetProperty("vars").GetRawText());
        string output = _temp.File("renders.json");

        CliRun run = CliRun.Invoke("render", "--template", Fixtures(entry.GetProperty("file").GetString()!), "--vars", vars,
            "--conversations", Fixtures("conversations.json"), "--output", output);

        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("Rendered 9 of 10", run.Output, StringComparison.Ordinal);
        using JsonDocument expected = JsonDocument.Parse(File.ReadAllText(Fixtures("expected-jinja2.json")));
        var reference = expected.RootElement.GetProperty("results").EnumerateArray()
            .Where(r => r.GetProperty("template").GetString() == templateName)
            .ToDictionary(r => r.GetProperty("conversation").GetString()!);
        JsonElement renders = _temp.Json("renders.json");
        Assert.Equal(10, renders.GetArrayLength());
        foreach (JsonElement render in renders.EnumerateArray())
        {
            JsonElement want = reference[render.GetProperty("id").GetString()!];
            Assert.Equal(want.GetProperty("ok").GetBoolean(), render.GetProperty("ok").GetBoolean());
            if (want.GetProperty("ok").GetBoolean())
            {
                Assert.Equal(want.GetProperty("text").GetString(), render.GetProperty("text").GetString());
                Assert.Equal(JsonValueKind.Null, render.GetProperty("error").ValueKind);
            }
            else
            {
                Assert.Equal(JsonValueKind.Null, render.GetProperty("text").ValueKind);
                Assert.False(string.IsNullOrEmpty(render.GetProperty("error").GetString()));
            }
        }
    }

    [Fact]
    public void TemplateWithUnsupportedFilter_FailsNamingFileAndFilter()
    {
        string template = _temp.WriteText("bad.jinja", "{{ messages | frobnicate }}");
        string conversations = _temp.WriteText("c.json", "[{\"id\": \"a\", \"messages\": []}]");
        CliRun run = CliRun.Invoke("render", "--template", template, "--conversations", conversations, "--output", _temp.File("o.json"));
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("bad.jinja", run.Error, StringComparison.Ordinal);
        Assert.Contains("unsupported filter 'frobnicate'", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"id\": \"a\"}", "expected a JSON array")]
    [InlineData("[{\"id\": \"a\"}]", "no \"messages\" array")]
    [InlineData("[1]", "item 0 is not an object")]
    [InlineData("not json", "not valid JSON")]
    public void MalformedConversations_AreReportedWithTheFile(string content, string expected)
    {
        string template = _temp.WriteText("t.jinja", "{{ messages | length }}");
        string conversations = _temp.WriteText("c.json", content);
        CliRun run = CliRun.Invoke("render", "--template", template, "--conversations", conversations, "--output", _temp.File("o.json"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("c.json", run.Error, StringComparison.Ordinal);
        Assert.Contains(expected, run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingTemplate_IsReported()
    {
        string conversations = _temp.WriteText("c.json", "[]");
        CliRun run = CliRun.Invoke("render", "--template", _temp.File("nope.jinja"), "--conversations", conversations, "--output", _temp.File("o.json"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("nope.jinja: file not found", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void TemplateThatRaises_GivesOkFalseWithTheMessage()
    {
        string template = _temp.WriteText("t.jinja", "{% if messages|length > 1 %}{{ raise_exception('only one message') }}{% endif %}{{ bos_token }}{{ messages[0].content }}");
        string vars = _temp.WriteText("v.json", "{\"bos_token\": \"<s>\"}");
        string conversations = _temp.WriteText("c.json",
            "[{\"id\": \"one\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}, {\"id\": \"two\", \"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"user\", \"content\": \"b\"}]}]");
        string output = _temp.File("out/renders.json");
        CliRun run = CliRun.Invoke("render", "--template", template, "--vars", vars, "--conversations", conversations, "--output", output);
        Assert.True(run.ExitCode == 0, run.Error);
        JsonElement renders = _temp.Json("out/renders.json");
        Assert.Equal("<s>hi", renders[0].GetProperty("text").GetString());
        Assert.False(renders[1].GetProperty("ok").GetBoolean());
        Assert.Contains("only one message", renders[1].GetProperty("error").GetString(), StringComparison.Ordinal);
    }
}
