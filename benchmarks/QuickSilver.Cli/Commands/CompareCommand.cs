using System.CommandLine;
using QuickSilver.Cli.Compare;
using QuickSilver.Cli.Infrastructure;

namespace QuickSilver.Cli.Commands;

internal static class CompareCommand
{
    private sealed record Options(
        Option<string?> Model, Option<string?> Text, Option<string> Policy, Option<int> Threads, Option<int> Prompt, Option<int> Decode,
        Option<int> Window, Option<int> Stride, Option<int> MaxTokens, Option<int> Runs);

    private static Options MakeOptions() => new(
        CommonOptions.Model(false, SharedPaths.Stories260KGguf, "GGUF file both sides run (default: the shared stories260K.gguf)."),
        CommonOptions.Text("--text", "Text for the perplexity check and the prompts (default: the shared TinyStories sample).", SharedPaths.TinyStoriesSample),
        new Option<string>("--policy", "-p") { Description = "Policy for the QuickSilver side's second run: a preset (dense, safe, paper) or a policy JSON file.", DefaultValueFactory = _ => "paper" },
        CommonOptions.Threads(),
        new Option<int>("--prompt-tokens") { Description = "Prefill prompt length.", DefaultValueFactory = _ => 512 },
        new Option<int>("--decode-tokens") { Description = "Tokens decoded greedily.", DefaultValueFactory = _ => 128 },
        new Option<int>("--window") { Description = "Perplexity window.", DefaultValueFactory = _ => 256 },
        new Option<int>("--stride") { Description = "Perplexity stride.", DefaultValueFactory = _ => 128 },
        new Option<int>("--max-tokens") { Description = "Tokens of the text used for perplexity.", DefaultValueFactory = _ => 4096 },
        new Option<int>("--runs") { Description = "Prefill runs (median, min, max).", DefaultValueFactory = _ => 5 });

    private static void Add(Command c, Options o)
    {
        foreach (var option in new Option[] { o.Model, o.Text, o.Policy, o.Threads, o.Prompt, o.Decode, o.Window, o.Stride, o.MaxTokens, o.Runs }) c.Options.Add(option);
    }

    private static CompareSettings Settings(System.CommandLine.ParseResult parse, Options o)
    {
        string? model = parse.GetValue(o.Model), text = parse.GetValue(o.Text);
        if (model is null) throw new CliException("--model is required (no shared stories260K.gguf was found).");
        if (ModelLoader.IsRandom(model)) throw new CliException("compare needs a GGUF file that LLamaSharp can also run, not a random model.");
        ModelLoader.Check(model);
        if (text is null) throw new CliException("--text is required (no shared TinyStories sample was found).");
        TextInput.Read(text, "--text");
        foreach (var (v, n) in new[] { (parse.GetValue(o.Prompt), "--prompt-tokens"), (parse.GetValue(o.Decode), "--decode-tokens"), (parse.GetValue(o.MaxTokens), "--max-tokens"), (parse.GetValue(o.Runs), "--runs") })
            CommonOptions.Positive(v, n);
        PplCommand.CheckWindow(parse.GetValue(o.Window), parse.GetValue(o.Stride), null);
        string policy = parse.GetValue(o.Policy)!;
        PolicyCatalog.Resolve(policy);
        int threads = CommonOptions.ResolveThreads(parse.GetValue(o.Threads));
        return new CompareSettings
        {
            Model = model, Text = text, Policy = policy, Threads = threads, PromptTokens = parse.GetValue(o.Prompt), DecodeTokens = parse.GetValue(o.Decode),
            Window = parse.GetValue(o.Window), Stride = parse.GetValue(o.Stride), MaxTokens = parse.GetValue(o.MaxTokens), Runs = parse.GetValue(o.Runs),
        };
    }

    public static Command Create(CommandContext context)
    {
        var o = MakeOptions();
        var outOption = CommonOptions.Out("compare");
        var inProcess = new Option<bool>("--in-process") { Description = "Run both sides in this process (peak memory is then not per side)." };
        var command = new Command("compare", "The same GGUF run by QuickSilver and by LLamaSharp (CPU backend), same threads: prefill and decode tokens/s, perplexity, peak memory, ratios.");
        Add(command, o);
        command.Options.Add(outOption);
        command.Options.Add(inProcess);
        command.SetAction(parse => context.Execute(() =>
        {
            var settings = Settings(parse, o);
            var folder = OutputFolder.Prepare(parse.GetValue(outOption)!);
            var result = CompareRunner.Run(settings, parse.GetValue(inProcess), context.Reporter);
            var markdown = CompareRunner.Render(result);
            context.Publish(folder, "compare", markdown, result);
            return result.Ours.Ok ? ExitCodes.Success : ExitCodes.Failure;
        }));
        return command;
    }

    /// <summary>Hidden: one side of compare in its own process, writing a SideResult JSON.</summary>
    public static Command CreateWorker(CommandContext context)
    {
        var o = MakeOptions();
        var side = new Option<string>("--side") { Required = true };
        var resultPath = new Option<string>("--result") { Required = true };
        var command = new Command("compare-worker", "Internal: runs one side of compare.") { Hidden = true };
        Add(command, o);
        command.Options.Add(side);
        command.Options.Add(resultPath);
        command.SetAction(parse => context.Execute(() =>
        {
            var settings = Settings(parse, o);
            var reporter = new Reporter(TextWriter.Null, false);
            var result = parse.GetValue(side) switch
            {
                "quicksilver" => OursSide.Run(settings, reporter),
                "llamasharp" => LlamaSharpSide.Run(settings, reporter),
                var other => throw new CliException($"--side must be quicksilver or llamasharp (got {other})."),
            };
            File.WriteAllText(parse.GetValue(resultPath)!, JsonOutput.Serialize(result));
            return ExitCodes.Success;
        }));
        return command;
    }
}
