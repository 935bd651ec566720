using System.CommandLine;
using QuickSilver.Cli.Batch;
using QuickSilver.Cli.Bench;
using QuickSilver.Cli.Infrastructure;

namespace QuickSilver.Cli.Commands;

internal static class BenchCommand
{
    public static Command Create(CommandContext context)
    {
        var outOption = CommonOptions.Out("bench");
        var threads = CommonOptions.Threads();
        var model = CommonOptions.Model(false, SharedPaths.Stories260KBin, "Real checkpoint for prefill/decode (default: the shared stories260K). 'none' skips it.");
        var random = new Option<string>("--random-model") { Description = "Random model for the FLOP/s, realization and overhead measurements.", DefaultValueFactory = _ => ModelLoader.RandomGpt2Small };
        var tokens = new Option<int>("--tokens") { Description = "Prompt length of the prefill measurements.", DefaultValueFactory = _ => 512 };
        var runs = new Option<int>("--runs") { Description = "Interleaved runs per measurement (median, min, max reported).", DefaultValueFactory = _ => 7 };
        var decode = new Option<int>("--decode-tokens") { Description = "Tokens decoded greedily for the decode rate.", DefaultValueFactory = _ => 128 };
        var summary = new Option<string?>("--summary-json") { Description = "Run the quick versions of bench, ppl and compare and write one summary JSON object to this path." };
        var gguf = new Option<string?>("--gguf") { Description = "GGUF file for the LLamaSharp side of the summary (default: the shared stories260K.gguf; 'none' skips the comparison).", DefaultValueFactory = _ => SharedPaths.Stories260KGguf };
        var evalText = CommonOptions.Text("--eval-text", "Evaluation text for the summary's perplexity figures.", SharedPaths.TinyStoriesSample);
        var calibText = CommonOptions.Text("--calibration-text", "Calibration text for the summary's operating point (never the evaluation text).", SharedPaths.TinyStoriesValid);
        var batchFormats = new Option<string>("--batch-formats") { Description = "Speed formats measured for the summary's batch8_throughput_ratio keys (comma-separated; 'none' skips them).", DefaultValueFactory = _ => "F32,Q8_0" };
        var batchCache = new Option<string>("--batch-cache") { Description = "Folder of speed's generated 374M GGUF files for the batch8 keys (not generated here).", DefaultValueFactory = _ => SpeedCommand.DefaultCache };
        var command = new Command("bench", "Dense achieved/raw FLOP/s, realization of prescribed halting and fusion profiles, overhead with nothing firing; --summary-json for the machine-readable summary.")
        {
            outOption, threads, model, random, tokens, runs, decode, summary, gguf, evalText, calibText, batchFormats, batchCache,
        };
        command.SetAction(parse => context.Execute(() =>
        {
            int runCount = parse.GetValue(runs), tokenCount = parse.GetValue(tokens), decodeCount = parse.GetValue(decode);
            CommonOptions.Positive(runCount, "--runs");
            CommonOptions.Positive(tokenCount, "--tokens");
            CommonOptions.Positive(decodeCount, "--decode-tokens");
            string randomModel = parse.GetValue(random)!;
            ModelLoader.Check(randomModel, "--random-model");
            if (!ModelLoader.IsRandom(randomModel)) throw new CliException($"--random-model must be a built-in random model, not '{randomModel}'.");
            string? modelPath = parse.GetValue(model);
            if (modelPath is not null && modelPath.Equals("none", StringComparison.OrdinalIgnoreCase)) modelPath = null;
            if (modelPath is not null) ModelLoader.Check(modelPath);
            string? summaryPath = parse.GetValue(summary);
            string? ggufPath = parse.GetValue(gguf);
            if (ggufPath is not null && ggufPath.Equals("none", StringComparison.OrdinalIgnoreCase)) ggufPath = null;
            if (ggufPath is not null) ModelLoader.Check(ggufPath, "--gguf");
            string? evalPath = parse.GetValue(evalText), calibPath = parse.GetValue(calibText);
            if (evalPath is not null) TextInput.Check(evalPath, "--eval-text");
            if (calibPath is not null) TextInput.Check(calibPath, "--calibration-text");
            var folder = OutputFolder.Prepare(parse.GetValue(outOption)!);
            int threadCount = CommonOptions.ResolveThreads(parse.GetValue(threads));
            var settings = new BenchSettings
            {
                RandomModel = randomModel, Model = modelPath, Tokens = tokenCount, Runs = runCount, DecodeTokens = decodeCount, Threads = threadCount,
            };
            if (summaryPath is not null)
            {
                var summaryFile = SummaryRunner.CheckPath(summaryPath);
                var formats = BatchSummary.ParseFormats(parse.GetValue(batchFormats));
                var summaryResult = SummaryRunner.Run(settings, ggufPath, evalPath, calibPath, folder, context.Reporter);
                BatchSummary.Add(summaryResult, formats, parse.GetValue(batchCache)!, modelPath, threadCount, folder, context.Reporter);
                SummaryRunner.Write(summaryFile, summaryResult);
                context.Output.WriteLine($"Summary written to {summaryFile}");
                return ExitCodes.Success;
            }
            var result = BenchRunner.Run(settings, context.Reporter);
            var markdown = BenchMarkdown.Render(result);
            context.Publish(folder, "bench", markdown, result);
            return ExitCodes.Success;
        }));
        return command;
    }
}
