// AgentDemo: a Semantic Kernel agent loop on a local QuickSilver model.
// Usage: dotnet run --project samples/AgentDemo [-- --model PATH] [--policy dense|safe|paper]   (or QUICKSILVER_MODEL=PATH)
// Semantic Kernel's ChatCompletionAgent lives in Microsoft.SemanticKernel.Agents.Core, which this environment's package feed does not
// serve, so the agent is written with the Kernel, a plugin and IChatCompletionService (FunctionChoiceBehavior drives the tool calls).
using System.Diagnostics;
using System.Globalization;
using System.Text;
using AgentDemo;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using QuickSilver.Extensions.AI;
using Spectre.Console;

string modelPath;
try
{
    modelPath = ModelLocator.Find(args);
}
catch (Exception ex) when (ex is FileNotFoundException or ArgumentException)
{
    AnsiConsole.MarkupLineInterpolated($"[red]{ex.Message}[/]");
    return 2;
}

int policyIndex = Array.IndexOf(args, "--policy");
string policy = policyIndex >= 0 && policyIndex + 1 < args.Length ? args[policyIndex + 1] : "safe";

var clock = Stopwatch.StartNew();
var records = new List<UsageRecord>();
var tools = new StoryTools();

IKernelBuilder builder = Kernel.CreateBuilder();
builder.AddQuickSilverChatClient(
    options =>
    {
        options.ModelPath = modelPath;
        options.Policy = policy;
        options.MaxOutputTokens = 100;
        options.MaxConstrainedStringLength = 12;
        options.Lexicons.FullProcessing.Add("apples");
    },
    configurePipeline: pipeline => pipeline.Use(inner => new UsageRecordingChatClient(inner, records)));
builder.Plugins.AddFromObject(tools, "story_tools");
Kernel kernel = builder.Build();

IChatCompletionService chat;
try
{
    chat = kernel.GetRequiredService<IChatCompletionService>();
}
catch (Exception ex) when (ex is QuickSilver.QuickSilverException or Microsoft.Extensions.Options.OptionsValidationException)
{
    AnsiConsole.MarkupLineInterpolated($"[red]{ex.Message}[/]");
    return 2;
}
var quickSilver = kernel.GetRequiredService<IChatClient>().GetService<QuickSilverChatClient>()!;
AnsiConsole.MarkupLineInterpolated($"[bold]QuickSilver AgentDemo[/]  model [cyan]{quickSilver.ModelId}[/]  template [cyan]{quickSilver.Template.Name}[/]  policy [cyan]{quickSilver.CurrentPolicy.Name}[/]");

var history = new ChatHistory("You are a helpful storyteller with tools.");
var maxTokens = new Func<int, Dictionary<string, object>>(n => new Dictionary<string, object> { ["max_tokens"] = n });

// Turn 1: a tool is required, so the tool call is produced by constrained decoding, then Semantic Kernel runs it.
KernelFunction add = kernel.Plugins["story_tools"]["add_numbers"];
await Turn("Tom has 3 apples and finds 4 more. How many apples does he have?",
    new PromptExecutionSettings { FunctionChoiceBehavior = FunctionChoiceBehavior.Required([add]), ExtensionData = maxTokens(48) });

// Turn 2, a new conversation (stories260K's context holds only 512 tokens): tools are available but optional.
history = new ChatHistory("You are a helpful storyteller with tools.");
await Turn("Tell me a short story about Tom and his apples.",
    new PromptExecutionSettings { FunctionChoiceBehavior = FunctionChoiceBehavior.Auto(), ExtensionData = maxTokens(48) });

AnsiConsole.WriteLine();
AnsiConsole.MarkupLine("[bold]Tool calls[/]");
foreach (string call in tools.Calls) AnsiConsole.MarkupLineInterpolated($"  {call}");
if (tools.Calls.Count == 0) AnsiConsole.MarkupLine("  [yellow](none)[/]");

// One column per model call, one row per figure: narrow enough for an 80-column terminal.
var table = new Table().Border(TableBorder.Rounded).Title("QuickSilver per-request figures");
table.AddColumn("figure");
foreach (UsageRecord r in records) table.AddColumn(new TableColumn($"#{r.Number} {r.Kind}").RightAligned());
string Format(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
void Row(string name, Func<UsageRecord, string> cell) => table.AddRow([name, .. records.Select(cell)]);
Row("policy", r => r.Policy);
Row("input tokens (cached)", r => $"{r.Input} ({r.Cached})");
Row("output tokens", r => Format(r.Output, "F0"));
Row("halted token-layers", r => Format(r.HaltedTokenLayers, "F0"));
Row("skipped KV writes", r => Format(r.SkippedKvWrites, "F0"));
Row("fused tokens", r => Format(r.FusedTokens, "F0"));
Row("dense / actual MFLOP", r => $"{Format(r.DenseFlops / 1e6, "F1")} / {Format(r.ActualFlops / 1e6, "F1")}");
Row("FLOPs saved", r => Format(r.DenseFlops > 0 ? 1 - r.ActualFlops / r.DenseFlops : 0, "P1"));
Row("KV cache bytes", r => Format(r.KvBytes, "N0"));
Row("time to first token", r => Format(r.TimeToFirstToken * 1000, "F1") + " ms");
Row("tokens / s", r => Format(r.TotalSeconds > 0 ? r.Output / r.TotalSeconds : 0, "F0"));
AnsiConsole.Write(table);
AnsiConsole.MarkupLineInterpolated($"Done in {clock.Elapsed.TotalSeconds:F1}s.");
return tools.Calls.Count > 0 ? 0 : 1;

async Task Turn(string user, PromptExecutionSettings settings)
{
    AnsiConsole.WriteLine();
    AnsiConsole.MarkupLineInterpolated($"[green]user>[/] {user}");
    history.AddUserMessage(user);
    AnsiConsole.Markup("[blue]assistant>[/] ");
    var reply = new StringBuilder();
    await foreach (StreamingChatMessageContent chunk in chat.GetStreamingChatMessageContentsAsync(history, settings, kernel))
    {
        if (string.IsNullOrEmpty(chunk.Content)) continue;
        reply.Append(chunk.Content);
        AnsiConsole.Write(new Text(chunk.Content));
    }
    AnsiConsole.WriteLine();
    history.AddAssistantMessage(reply.ToString());
}
