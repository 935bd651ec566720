using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Extensions.AI;
using QuickSilver.Extensions.AI.Templates;

namespace QuickSilver.Cli.Commands;

/// <summary>One rendered conversation in <c>render</c>'s output: the text, or why the template refused it.</summary>
internal sealed record RenderResult(string Id, bool Ok, string? Text, string? Error);

/// <summary>
/// <c>quicksilver render</c>: renders a chat template over conversations in Hugging Face's message format, with the
/// variables transformers' <c>apply_chat_template</c> passes (the <c>--vars</c> special tokens, <c>messages</c>,
/// <c>tools</c>, <c>add_generation_prompt</c>). Used by conformance checks and to debug a prompt.
/// </summary>
internal static class RenderCommand
{
    public static Command Create(CommandContext context)
    {
        var template = new Option<string>("--template") { Description = "The chat template (.jinja).", Required = true };
        var vars = new Option<string?>("--vars") { Description = "JSON object of template variables (bos_token, eos_token, ...)." };
        var conversations = new Option<string>("--conversations") { Description = "JSON array of {id, messages, tools, add_generation_prompt} in Hugging Face's format.", Required = true };
        var output = new Option<string>("--output") { Description = "Where to write [{id, ok, text, error}...].", Required = true };
        var via = new Option<string?>("--via")
        {
            Description = "chat-client: convert each conversation to ChatMessage/FunctionCallContent/FunctionResultContent and ChatOptions.Tools, and render the prompt exactly as QuickSilverChatClient sends it.",
        };
        via.AcceptOnlyFromAmong("chat-client");
        var command = new Command("render", "Render a chat template over conversations, as transformers' apply_chat_template would.")
        {
            template, vars, conversations, output, via,
        };
        command.SetAction(parse => context.Execute(() =>
        {
            List<RenderResult> results = Run(parse.GetValue(template)!, parse.GetValue(vars), parse.GetValue(conversations)!, parse.GetValue(via) == "chat-client");
            string outputPath = parse.GetValue(output)!;
            WriteResults(outputPath, results);
            context.Output.WriteLine($"Rendered {results.Count(r => r.Ok)} of {results.Count} conversations: {outputPath}");
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>Renders every conversation; a template that raises gives <c>ok: false</c> with its message, not a failed run.</summary>
    /// <exception cref="CliException">An input file is missing or malformed (named with the field at fault).</exception>
    public static List<RenderResult> Run(string templatePath, string? varsPath, string conversationsPath, bool viaChatClient = false)
    {
        JinjaChatTemplate template = LoadTemplate(templatePath);
        JsonObject variables = varsPath is null ? [] : ReadJson(varsPath, "--vars") as JsonObject
            ?? throw new CliException($"--vars {varsPath}: expected a JSON object of template variables.");
        if (ReadJson(conversationsPath, "--conversations") is not JsonArray items)
        {
            throw new CliException($"--conversations {conversationsPath}: expected a JSON array of conversations.");
        }
        var results = new List<RenderResult>();
        for (int i = 0; i < items.Count; i++)
        {
            JsonObject conversation = items[i] as JsonObject
                ?? throw new CliException($"--conversations {conversationsPath}: item {i} is not an object.");
            string id = conversation["id"] is JsonValue idValue && idValue.TryGetValue(out string? text) ? text : i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (conversation["messages"] is not JsonArray)
            {
                throw new CliException($"--conversations {conversationsPath}: conversation '{id}' has no \"messages\" array.");
            }
            try
            {
                string rendered = viaChatClient ? RenderViaChatClient(template, variables, conversation) : template.Render(Variables(variables, conversation));
                results.Add(new RenderResult(id, true, rendered, null));
            }
            catch (Exception ex) when (ex is ChatTemplateException || (viaChatClient && ex is ArgumentException))
            {
                results.Add(new RenderResult(id, false, null, ex.Message));
            }
        }
        return results;
    }

    /// <summary>
    /// What transformers passes: the special tokens and other variables, then <c>messages</c>, <c>tools</c> (None when
    /// absent), <c>documents</c> (None) and <c>add_generation_prompt</c> (false when absent).
    /// </summary>
    public static JsonElement Variables(JsonObject variables, JsonObject conversation)
    {
        var all = new JsonObject();
        foreach (KeyValuePair<string, JsonNode?> kv in variables) all[kv.Key] = kv.Value?.DeepClone();
        all["messages"] = conversation["messages"]!.DeepClone();
        all["tools"] = conversation["tools"]?.DeepClone();
        all["documents"] = conversation["documents"]?.DeepClone();
        all["add_generation_prompt"] = conversation["add_generation_prompt"]?.DeepClone() ?? false;
        return JsonSerializer.SerializeToElement(all);
    }

    /// <summary>
    /// The prompt <c>QuickSilverChatClient</c> sends for the conversation: HF messages converted to Microsoft.Extensions.AI
    /// types (<see cref="HfConversation"/>), then rendered by <see cref="QuickSilverPrompt"/> with <c>bos_token</c>,
    /// <c>eos_token</c> and the other <c>--vars</c>.
    /// </summary>
    public static string RenderViaChatClient(JinjaChatTemplate template, JsonObject variables, JsonObject conversation)
    {
        (List<Microsoft.Extensions.AI.ChatMessage> messages, Microsoft.Extensions.AI.ChatOptions options) = HfConversation.ToChat(conversation);
        string Token(string name) => variables[name] is JsonValue v && v.TryGetValue(out string? s) ? s : "";
        var extra = variables.Where(kv => kv.Key is not ("bos_token" or "eos_token"))
            .ToDictionary(kv => kv.Key, kv => JsonSerializer.SerializeToElement(kv.Value));
        bool generationPrompt = conversation["add_generation_prompt"] is JsonValue g && g.TryGetValue(out bool b) && b;
        return QuickSilverPrompt.Render(template, messages, options, Token("bos_token"), Token("eos_token"), generationPrompt, extra);
    }

    public static JinjaChatTemplate LoadTemplate(string path)
    {
        if (!File.Exists(path)) throw new CliException($"--template {path}: file not found.");
        try
        {
            return new JinjaChatTemplate(File.ReadAllText(path));
        }
        catch (ChatTemplateException ex)
        {
            throw new CliException($"--template {path}: {ex.Message}", ExitCodes.Failure, ex);
        }
    }

    public static JsonNode? ReadJson(string path, string option)
    {
        if (!File.Exists(path)) throw new CliException($"{option} {path}: file not found.");
        try
        {
            return JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException ex)
        {
            throw new CliException($"{option} {path}: not valid JSON: {ex.Message}", ExitCodes.UsageError, ex);
        }
    }

    public static void WriteResults(string path, IReadOnlyList<RenderResult> results)
    {
        var array = new JsonArray();
        foreach (RenderResult r in results)
        {
            array.Add(new JsonObject { ["id"] = r.Id, ["ok"] = r.Ok, ["text"] = r.Text, ["error"] = r.Error });
        }
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        File.WriteAllText(path, array.ToJsonString(JsonOutput.Options));
    }
}
