using System.CommandLine;
using QuickSilver.Cli.Batch;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Cli.Speed;

namespace QuickSilver.Cli.Commands;

/// <summary>
/// <c>quicksilver batch-probe</c>: aggregate greedy decode tokens/s of several sequences stepped together by the engine's
/// batched forward, against one sequence alone, on the random 374M Llama of <c>speed</c> (made when absent) or any model.
/// </summary>
internal static class BatchProbeCommand
{
    public static Command Create(CommandContext context)
    {
        var model = new Option<string?>("--model", "-m") { Description = "A model file or folder; default: the random 374M Llama of speed in --format." };
        var cache = new Option<string>("--cache") { Description = "Folder of speed's generated GGUF files (created when absent).", DefaultValueFactory = _ => SpeedCommand.DefaultCache };
        var format = new Option<string>("--format") { Description = "Which speed file without --model: F32, Q8_0, Q4_0, Q4_K_M.", DefaultValueFactory = _ => "Q8_0" };
        var batch = new Option<int>("--batch") { Description = "Sequences stepped together.", DefaultValueFactory = _ => 8 };
        var threads = new Option<int>("--threads") { Description = "Threads.", DefaultValueFactory = _ => 2 };
        var prompt = new Option<int>("--prompt-tokens") { Description = "Prompt length of each sequence.", DefaultValueFactory = _ => 32 };
        var decode = new Option<int>("--decode-tokens") { Description = "Greedy steps per round.", DefaultValueFactory = _ => 32 };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds (median), after a warm-up.", DefaultValueFactory = _ => 3 };
        var throughClient = new Option<bool>("--through-client") { Description = "Concurrent chat requests through IChatClient (1, 2, 4, … up to --batch) and through the engine's scheduler alone, instead of the raw batched forward." };
        var profile = new Option<bool>("--profile") { Description = "With --through-client: time each operation per output token (thread CPU time with --threads 1, else wall time)." };
        var cold = new Option<bool>("--cold-prompts") { Description = "With --through-client: every request prefills its whole prompt (a fresh conversation), instead of reusing its prompt's K/V from the warm-up." };
        var noLookup = new Option<bool>("--no-prompt-lookup") { Description = "With --through-client: the client's prompt-lookup drafting off on every level (plain decode), to separate batching from drafting." };
        var outOption = CommonOptions.Out("batch-probe");
        var command = new Command("batch-probe", "Batched decode inside the engine: aggregate tokens/s of N sequences stepped together ÷ one alone.");
        foreach (var option in new Option[] { model, cache, format, batch, threads, prompt, decode, rounds, throughClient, profile, cold, noLookup, outOption }) command.Options.Add(option);
        command.SetAction(parse => context.Execute(() =>
        {
            foreach (var (v, n) in new[] { (parse.GetValue(batch), "--batch"), (parse.GetValue(threads), "--threads"), (parse.GetValue(prompt), "--prompt-tokens"), (parse.GetValue(decode), "--decode-tokens"), (parse.GetValue(rounds), "--rounds") })
                CommonOptions.Positive(v, n);
            string path = parse.GetValue(model) ?? (SpeedModels.AllFormats.Contains(parse.GetValue(format)!)
                ? SpeedModels.Ensure(parse.GetValue(cache)!, parse.GetValue(format)!, context.Reporter.Line)
                : throw new CliException($"--format: unknown format '{parse.GetValue(format)}' (known: {string.Join(", ", SpeedModels.AllFormats)})."));
            var folder = OutputFolder.Prepare(parse.GetValue(outOption)!);
            string line = ("quicksilver " + string.Join(' ', parse.Tokens.Select(t => t.Value))).Trim();
            if (parse.GetValue(throughClient))
            {
                int most = parse.GetValue(batch);
                var levels = Enumerable.Range(0, 8).Select(k => 1 << k).TakeWhile(n => n < most).Append(most).ToArray();
                var probe = ClientBatchProbe.Run(path, parse.GetValue(threads), levels, parse.GetValue(decode), parse.GetValue(rounds), engineToo: !parse.GetValue(profile), context.Reporter, line, parse.GetValue(profile), parse.GetValue(cold), promptLookup: !parse.GetValue(noLookup));
                var report = ClientBatchProbe.Render(probe);
                var (mdPath, jsPath) = folder.WriteReport("batch-probe-client", report, probe);
                context.Output.WriteLine(report);
                context.Output.WriteLine($"Results: {mdPath}, {jsPath}");
                return ExitCodes.Success;
            }
            var result = BatchDecodeProbe.Run(path, parse.GetValue(threads), parse.GetValue(batch), parse.GetValue(prompt), parse.GetValue(decode), parse.GetValue(rounds), context.Reporter, line);
            var markdown = BatchDecodeProbe.Render(result);
            var (md, js) = folder.WriteReport("batch-probe", markdown, result);
            context.Output.WriteLine(markdown);
            context.Output.WriteLine($"Results: {md}, {js}");
            return ExitCodes.Success;
        }));
        return command;
    }
}
