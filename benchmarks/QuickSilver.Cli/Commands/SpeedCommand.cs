using System.CommandLine;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Cli.Speed;
using QuickSilver.Engine;

namespace QuickSilver.Cli.Commands;

/// <summary>
/// <c>quicksilver speed</c>: the random 374M Llama in F32, Q8_0, Q4_0 and Q4_K_M (made when absent), each engine in its
/// own process, interleaved: prefill and decode tokens/s, peak RSS, ratios ours ÷ llama.cpp, and decode as a fraction
/// of the memory-bandwidth limit. Writes speed.md and speed.json.
/// </summary>
internal static class SpeedCommand
{
    /// <summary>
    /// Default folder of the generated files: $QUICKSILVER_SPEED_CACHE, else ~/.cache/quicksilver/speed (outside every
    /// clone and worktree, so the 2 GB of files are made once per machine, not once per checkout).
    /// </summary>
    public static string DefaultCache =>
        Environment.GetEnvironmentVariable("QUICKSILVER_SPEED_CACHE") is { Length: > 0 } env ? env
        : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "quicksilver", "speed");

    public static Command Create(CommandContext context)
    {
        var cache = new Option<string>("--cache") { Description = "Folder of the generated GGUF files (created when absent).", DefaultValueFactory = _ => DefaultCache };
        var formats = new Option<string>("--formats") { Description = "Comma-separated files to run: F32, Q8_0, Q4_0, Q4_K_M ('none': stories260K only).", DefaultValueFactory = _ => string.Join(",", SpeedModels.AllFormats) };
        var threads = new Option<int>("--threads") { Description = "Threads per engine.", DefaultValueFactory = _ => 2 };
        var prompt = new Option<int>("--prompt-tokens") { Description = "Prefill prompt length.", DefaultValueFactory = _ => 512 };
        var decode = new Option<int>("--decode-tokens") { Description = "Greedy tokens decoded.", DefaultValueFactory = _ => 128 };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds (a fresh process per engine per round).", DefaultValueFactory = _ => 1 };
        var runs = new Option<int>("--runs") { Description = "Prefill runs per process (median, after a warm-up).", DefaultValueFactory = _ => 2 };
        var stories = new Option<string?>("--stories") { Description = "stories260K GGUF for the per-token overhead row (default: the shared one; 'none' skips it).", DefaultValueFactory = _ => SharedPaths.Stories260KGguf };
        var kvType = KvTypeOption();
        var prepareOnly = new Option<bool>("--prepare-only") { Description = "Only create the missing GGUF files in --cache, then stop." };
        var outOption = CommonOptions.Out("speed");
        var command = new Command("speed", "QuickSilver versus llama.cpp on the random 374M Llama in F32/Q8_0/Q4_0/Q4_K_M: prefill and decode tokens/s, peak RSS, ratios, fraction of the bandwidth limit.");
        foreach (var option in new Option[] { cache, formats, threads, prompt, decode, rounds, runs, stories, kvType, prepareOnly, outOption }) command.Options.Add(option);
        command.SetAction(parse => context.Execute(() =>
        {
            string formatList = parse.GetValue(formats)!;
            var list = formatList == "none" ? [] : formatList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var f in list)
                if (!SpeedModels.AllFormats.Contains(f)) throw new CliException($"--formats: unknown format '{f}' (known: {string.Join(", ", SpeedModels.AllFormats)}).");
            var storage = ParseKvType(parse.GetValue(kvType));
            foreach (var (v, n) in new[] { (parse.GetValue(threads), "--threads"), (parse.GetValue(prompt), "--prompt-tokens"), (parse.GetValue(decode), "--decode-tokens"), (parse.GetValue(rounds), "--rounds"), (parse.GetValue(runs), "--runs") })
                CommonOptions.Positive(v, n);
            if (parse.GetValue(prompt) > SpeedModels.Context || parse.GetValue(decode) + 33 > SpeedModels.Context)
                throw new CliException($"--prompt-tokens and --decode-tokens must fit the model's {SpeedModels.Context} positions.");
            if (parse.GetValue(prepareOnly))
            {
                foreach (var f in list) context.Output.WriteLine(SpeedModels.Ensure(parse.GetValue(cache)!, f, context.Reporter.Line));
                return ExitCodes.Success;
            }
            var folder = OutputFolder.Prepare(parse.GetValue(outOption)!);
            string line = "quicksilver " + string.Join(' ', parse.Tokens.Select(t => t.Value));
            string? storiesPath = parse.GetValue(stories);
            if (storiesPath == "none") storiesPath = null;
            else if (storiesPath is not null && !File.Exists(storiesPath)) throw new CliException($"--stories: file not found: {storiesPath}");
            var result = SpeedRunner.Run(parse.GetValue(cache)!, list, storiesPath, parse.GetValue(threads), parse.GetValue(prompt), parse.GetValue(decode), parse.GetValue(rounds), parse.GetValue(runs), context.Reporter, line.Trim(), storage);
            var markdown = SpeedRunner.Render(result);
            var (md, js) = folder.WriteReport("speed", markdown, result);
            context.Output.WriteLine(markdown);
            context.Output.WriteLine($"Results: {md}, {js}");
            return result.Rows.Append(result.Stories).All(r => r is null || r.Ours.All(s => s.Ok)) ? ExitCodes.Success : ExitCodes.Failure;
        }));
        return command;
    }

    /// <summary>Hidden: one engine on one file, writing a <see cref="SpeedSide"/> JSON.</summary>
    public static Command CreateWorker(CommandContext context)
    {
        var engine = new Option<string>("--engine") { Required = true };
        var model = new Option<string>("--model") { Required = true };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => 2 };
        var prompt = new Option<int>("--prompt-tokens") { DefaultValueFactory = _ => 512 };
        var decode = new Option<int>("--decode-tokens") { DefaultValueFactory = _ => 128 };
        var runs = new Option<int>("--runs") { DefaultValueFactory = _ => 2 };
        var result = new Option<string>("--result") { Required = true };
        var kvType = KvTypeOption();
        var command = new Command("speed-worker", "Internal: one engine of speed.") { Hidden = true };
        foreach (var option in new Option[] { engine, model, threads, prompt, decode, runs, result, kvType }) command.Options.Add(option);
        command.SetAction(parse => context.Execute(() =>
        {
            string name = parse.GetValue(engine)!;
            if (name is not (SpeedWorker.Ours or SpeedWorker.LlamaCpp)) throw new CliException($"--engine must be {SpeedWorker.Ours} or {SpeedWorker.LlamaCpp} (got {name}).");
            var side = SpeedWorker.Run(name, parse.GetValue(model)!, parse.GetValue(threads), parse.GetValue(prompt), parse.GetValue(decode), parse.GetValue(runs), ParseKvType(parse.GetValue(kvType)));
            File.WriteAllText(parse.GetValue(result)!, JsonOutput.Serialize(side));
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Option<string> KvTypeOption() =>
        new("--kv-type") { Description = "Our K/V cache storage: Float32 (default, exact), Float16 or BFloat16 (half the cache memory).", DefaultValueFactory = _ => nameof(KvCacheType.Float32) };

    /// <summary>A <c>--kv-type</c> value (case-insensitive name).</summary>
    internal static KvCacheType ParseKvType(string? value) =>
        Enum.TryParse<KvCacheType>(value, ignoreCase: true, out var type) && Enum.IsDefined(type) && !int.TryParse(value, out _) ? type
        : throw new CliException($"--kv-type must be Float32, Float16 or BFloat16 (got '{value}').");
}
