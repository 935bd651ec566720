using System.ComponentModel;
using System.Diagnostics;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using QuickSilver.Extensions.AI;
using QuickSilver.Samples;

namespace AgentFrameworkDemo;

/// <summary>
/// An agent with tools, a multi-turn session and streaming. The agent keeps the conversation in its session and sends the
/// whole history every turn; the QuickSilver client finds the KV cache that already holds that history's prefix and runs
/// prefill only for the new suffix (reported as cached input tokens).
/// </summary>
public static class AgentFrameworkSample
{
    /// <summary>Runs the demo; returns 0 when every turn produced what it should.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        var clock = Stopwatch.StartNew();
        string modelPath = SampleModel.Find(args);

        var services = new ServiceCollection();
        services.AddQuickSilverChatClient(options =>
        {
            options.ModelPath = modelPath;
            options.MaxOutputTokens = 24;
            options.MaxConstrainedStringLength = 8;
        });
        await using ServiceProvider provider = services.BuildServiceProvider();
        IChatClient chatClient = provider.GetRequiredService<IChatClient>();

        var tools = new StoryTools();
        // ChatClientAgent adds function invocation around the client itself.
        AIAgent agent = new ChatClientAgent(chatClient, new ChatClientAgentOptions
        {
            Name = "storyteller",
            Description = "Tells short stories and adds numbers.",
            ChatOptions = new ChatOptions
            {
                Instructions = "You are a storyteller with tools.",
                Tools = [AIFunctionFactory.Create(tools.AddNumbers), AIFunctionFactory.Create(tools.CountLetters)],
                MaxOutputTokens = 24,
            },
        });
        output.WriteLine($"Agent Framework agent '{agent.Name}' on QuickSilver model {chatClient.GetService<ChatClientMetadata>()?.DefaultModelId} ({modelPath})");

        AgentSession session = await agent.CreateSessionAsync();

        // Turn 1: a tool call is required (small models rarely choose a tool on their own with ChatToolMode.Auto).
        var required = new ChatClientAgentRunOptions(new ChatOptions { ToolMode = ChatToolMode.RequireAny });
        AgentResponse first = await agent.RunAsync("Tom has 3 apples and finds 4 more. How many apples?", session, required);
        Report(output, "turn 1 (tool required)", first.Text, first.Usage);

        // Turn 2, same session, streamed token by token.
        output.Write("turn 2 (streamed): ");
        UsageDetails? streamedUsage = null;
        var streamed = new System.Text.StringBuilder();
        await foreach (AgentResponseUpdate update in agent.RunStreamingAsync("Tell me about Tom.", session))
        {
            output.Write(update.Text);
            streamed.Append(update.Text);
            foreach (UsageContent usage in update.Contents.OfType<UsageContent>()) streamedUsage = usage.Details;
        }
        output.WriteLine();
        Report(output, "turn 2", null, streamedUsage);

        // Turn 3, same session: the history so far is a prefix of this prompt, so most of it comes from the KV cache.
        AgentResponse third = await agent.RunAsync("What did Tom do next?", session);
        Report(output, "turn 3", third.Text, third.Usage);

        output.WriteLine($"tool calls: {(tools.Calls.Count == 0 ? "(none)" : string.Join("; ", tools.Calls))}");
        output.WriteLine($"done in {clock.Elapsed.TotalSeconds:F1} s");

        bool ok = tools.Calls.Count > 0
            && streamed.ToString().Trim().Length > 0
            && third.Text.Trim().Length > 0
            && (third.Usage?.CachedInputTokenCount ?? 0) > 0;
        if (!ok) output.WriteLine("FAILED: expected a tool call, streamed text and a reused KV prefix on turn 3.");
        return ok ? 0 : 1;
    }

    private static void Report(TextWriter output, string label, string? text, UsageDetails? usage)
    {
        if (text is not null) output.WriteLine($"{label}: {text.ReplaceLineEndings(" ").Trim()}");
        if (usage is null) return;
        long cached = usage.CachedInputTokenCount ?? 0, input = usage.InputTokenCount ?? 0;
        output.WriteLine($"  prompt {input} tokens, {cached} reused from the KV cache ({(input == 0 ? 0 : 100.0 * cached / input):F0}%), {usage.OutputTokenCount} generated");
    }

    /// <summary>The agent's tools.</summary>
    private sealed class StoryTools
    {
        public List<string> Calls { get; } = [];

        [Description("Adds two whole numbers.")]
        public int AddNumbers(int a, int b)
        {
            Calls.Add($"AddNumbers({a}, {b}) = {a + b}");
            return a + b;
        }

        [Description("Counts the letters of a word.")]
        public int CountLetters(string word)
        {
            Calls.Add($"CountLetters({word}) = {word.Length}");
            return word.Length;
        }
    }
}
