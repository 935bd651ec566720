using QuickSilver.Cli.Infrastructure;
using QuickSilver.Cli.Speed;

namespace QuickSilver.Cli.Batch;

/// <summary>
/// The continuous-batching keys of <c>bench --summary-json</c>: aggregate decode tok/s of 8 concurrent chat requests through
/// IChatClient ÷ one request alone (same client options, every request's prompt K/V warm from the probe's warm-up, so
/// both sides measure decode; see <see cref="ClientBatchProbe"/>), on speed's random 374M Llama (F32 → <c>batch8_throughput_ratio</c>, other formats →
/// <c>batch8_throughput_ratio_&lt;format&gt;</c>) and on the summary's own model (<c>batch8_throughput_ratio_bench_model</c>).
/// A file that is missing is not generated here (that is <c>speed --prepare-only</c>'s job): its key stays null with a note.
/// </summary>
internal static class BatchSummary
{
    /// <summary>Concurrent requests of the measured batch.</summary>
    public const int Batch = 8;

    /// <summary>The key of a speed format.</summary>
    public static string Key(string format) => format == "F32" ? "batch8_throughput_ratio" : "batch8_throughput_ratio_" + format.ToLowerInvariant();

    /// <summary>The formats named by <c>--batch-formats</c> ("none" for none), checked against speed's formats.</summary>
    public static string[] ParseFormats(string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Equals("none", StringComparison.OrdinalIgnoreCase)) return [];
        var formats = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        foreach (var format in formats)
            if (!SpeedModels.AllFormats.Contains(format))
                throw new CliException($"--batch-formats: unknown format '{format}' (known: {string.Join(", ", SpeedModels.AllFormats)}, or none).");
        return formats;
    }

    /// <summary>The keys always present (null when not measured).</summary>
    public static readonly string[] Keys = ["batch8_throughput_ratio", "batch8_throughput_ratio_q8_0", "batch8_throughput_ratio_bench_model"];

    /// <summary>Measures each format (and the bench model when given) and adds the keys and notes to <paramref name="summary"/>.</summary>
    public static void Add(Dictionary<string, object?> summary, string[] formats, string cache, string? benchModel, int threads, OutputFolder folder, Reporter reporter)
    {
        var notes = new List<string>();
        foreach (var key in Keys) summary[key] = null;
        foreach (var format in new[] { "F32", "Q8_0" }.Where(f => !formats.Contains(f))) notes.Add($"{Key(format)}: not measured (--batch-formats).");
        if (benchModel is null) notes.Add("batch8_throughput_ratio_bench_model: no --model.");
        foreach (var format in formats)
        {
            string key = Key(format);
            summary[key] = null;
            string path = Path.Combine(cache, format == "F32" ? "llama374m-f32.gguf" : $"llama374m-{format.ToLowerInvariant()}.gguf");
            if (!File.Exists(path))
            {
                notes.Add($"{key}: {path} is missing (run quicksilver speed --prepare-only).");
                continue;
            }
            summary[key] = Measure(path, threads, 24, folder, reporter, key, notes);
        }
        if (benchModel is not null) summary["batch8_throughput_ratio_bench_model"] = Measure(benchModel, threads, 64, folder, reporter, "batch8_throughput_ratio_bench_model", notes);
        string previous = summary.TryGetValue("notes", out var n) && n is string text ? text : "";
        summary["notes"] = string.Join(" ", new[] { previous }.Concat(notes).Where(t => t.Length > 0));
    }

    private static double? Measure(string path, int threads, int tokens, OutputFolder folder, Reporter reporter, string key, List<string> notes)
    {
        var result = ClientBatchProbe.Run(path, threads, [1, Batch], tokens, rounds: 1, engineToo: false, reporter, $"bench --summary-json ({key})");
        folder.WriteReport(key.Replace("batch8_throughput_ratio", "batch-probe-client"), ClientBatchProbe.Render(result), result);
        var alone = result.Client[0];
        var batched = result.Client[^1];
        notes.Add($"{key} on {Path.GetFileName(path)}: {batched.TokensPerSecond:F1} ÷ {alone.TokensPerSecond:F1} aggregate tok/s through IChatClient "
            + $"({Batch} concurrent requests ÷ 1, up to {tokens} output tokens each, {threads} threads, one round, same client options; warm prompts: every "
            + $"request reuses its prompt's K/V from the warm-up, so both sides measure decode); decode-only {result.ClientDecodeRatio:F2}×, "
            + $"per CPU-second {result.ClientCpuRatio:F2}×.");
        return JsonOutput.Finite(result.ClientRatio);
    }
}
