using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Cli.Speed;

/// <summary>One file's row: each engine's median over interleaved rounds, and the decode speed limit.</summary>
internal sealed class SpeedRow
{
    public required string Format { get; init; }
    public required string File { get; init; }
    public long FileBytes { get; init; }
    /// <summary>Weight bytes one decode step reads: every tensor but the embedding table (one row of it is read).</summary>
    public long DecodeBytesPerToken { get; init; }
    public List<SpeedSide> Ours { get; } = [];
    public List<SpeedSide> LlamaCpp { get; } = [];
    public double? OursPrefill => Median(Ours.Select(s => s.PrefillTokensPerSecond));
    public double? LlamaPrefill => Median(LlamaCpp.Select(s => s.PrefillTokensPerSecond));
    public double? OursDecode => Median(Ours.Select(s => s.DecodeTokensPerSecond));
    public double? LlamaDecode => Median(LlamaCpp.Select(s => s.DecodeTokensPerSecond));
    public double? OursRss => Median(Ours.Select(s => (double?)s.PeakRssBytes));
    public double? LlamaRss => Median(LlamaCpp.Select(s => (double?)s.PeakRssBytes));

    private static double? Median(IEnumerable<double?> values)
    {
        var v = values.Where(x => x is double d && double.IsFinite(d)).Select(x => x!.Value).ToList();
        return v.Count == 0 ? null : Summary.Of(v).Median;
    }
}

/// <summary>The whole run: machine, bandwidth, settings and rows.</summary>
internal sealed class SpeedResult
{
    public required string Date { get; init; }
    public required string Machine { get; init; }
    public required string Command { get; init; }
    public int Threads { get; init; }
    public int PromptTokens { get; init; }
    public int DecodeTokens { get; init; }
    public int Rounds { get; init; }
    public double BandwidthBytesPerSecond { get; init; }
    public List<SpeedRow> Rows { get; } = [];
}

/// <summary>Creates the files, measures bandwidth, runs every engine on every file in its own process (interleaved rounds), renders the table.</summary>
internal static class SpeedRunner
{
    public static SpeedResult Run(string cache, IReadOnlyList<string> formats, int threads, int prompt, int decode, int rounds, int runs, Reporter reporter, string command)
    {
        var files = formats.Select(f => (Format: f, Path: SpeedModels.Ensure(cache, f, reporter.Line))).ToList();
        reporter.Line("measuring streaming read bandwidth");
        var result = new SpeedResult
        {
            Date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture), Machine = MachineInfo.Describe(), Command = command,
            Threads = threads, PromptTokens = prompt, DecodeTokens = decode, Rounds = rounds, BandwidthBytesPerSecond = MemoryBandwidth.BytesPerSecond(threads),
        };
        foreach (var (format, path) in files)
        {
            var gguf = GgufFile.Read(path);
            var row = new SpeedRow
            {
                Format = format, File = path, FileBytes = new FileInfo(path).Length,
                DecodeBytesPerToken = gguf.Tensors.Where(t => t.Name != "token_embd.weight").Sum(t => t.ByteSize ?? 0),
            };
            result.Rows.Add(row);
            for (int r = 0; r < rounds; r++)
            {
                // Alternate which engine goes first so drift of the machine hits both alike.
                foreach (string engine in r % 2 == 0 ? new[] { SpeedWorker.Ours, SpeedWorker.LlamaCpp } : [SpeedWorker.LlamaCpp, SpeedWorker.Ours])
                {
                    reporter.Line($"{format} round {r + 1}/{rounds}: {engine}");
                    var side = RunWorker(engine, path, threads, prompt, decode, runs);
                    (engine == SpeedWorker.Ours ? row.Ours : row.LlamaCpp).Add(side);
                    if (!side.Ok) reporter.Line($"  {engine} failed: {side.Error}");
                }
            }
        }
        return result;
    }

    private static SpeedSide RunWorker(string engine, string model, int threads, int prompt, int decode, int runs)
    {
        string resultFile = Path.Combine(Path.GetTempPath(), $"quicksilver-speed-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        string? processPath = Environment.ProcessPath;
        bool viaDotnet = processPath is null || Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        var start = new ProcessStartInfo(viaDotnet ? (processPath ?? "dotnet") : processPath!) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (viaDotnet) start.ArgumentList.Add(typeof(SpeedRunner).Assembly.Location);
        foreach (var a in new[] { "speed-worker", "--engine", engine, "--model", model, "--threads", I(threads), "--prompt-tokens", I(prompt), "--decode-tokens", I(decode), "--runs", I(runs), "--result", resultFile })
            start.ArgumentList.Add(a);
        // Each engine with its own defaults: nothing of ours (OpenMP policy, thread pinning, QuickSilver settings) is inherited.
        foreach (string key in start.Environment.Keys.Where(k => k.StartsWith("OMP_", StringComparison.Ordinal) || k.StartsWith("GOMP_", StringComparison.Ordinal)
            || k.StartsWith("KMP_", StringComparison.Ordinal) || k.StartsWith("MKL_", StringComparison.Ordinal) || k.StartsWith("QUICKSILVER_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);
        try
        {
            using var process = Process.Start(start) ?? throw new InvalidOperationException("the worker did not start");
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            process.WaitForExit();
            if (File.Exists(resultFile))
            {
                var side = JsonSerializer.Deserialize<SpeedSide>(File.ReadAllText(resultFile), JsonOutput.Options)!;
                File.Delete(resultFile);
                return side;
            }
            return new SpeedSide { Engine = engine, Error = $"exit {process.ExitCode}: {Tail(stderr.Result + stdout.Result)}" };
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException or JsonException)
        {
            return new SpeedSide { Engine = engine, Error = e.Message };
        }
    }

    private static string Tail(string text) => text.Length > 400 ? text[^400..] : text;

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    public static string Render(SpeedResult r)
    {
        static string F(double? v, int d = 1) => v is double x && double.IsFinite(x) ? x.ToString($"F{d}", CultureInfo.InvariantCulture) : "n/a";
        static string Gb(double? b) => b is double x ? (x / 1e9).ToString("F2", CultureInfo.InvariantCulture) : "n/a";
        static double? Ratio(double? a, double? b) => a is double x && b is double y && y > 0 ? x / y : null;
        var sb = new StringBuilder("# Speed: QuickSilver versus llama.cpp on the random 374M Llama\n\n");
        sb.AppendLine($"Command: `{r.Command}`. Date: {r.Date}. Machine: {r.Machine}.").AppendLine();
        sb.AppendLine($"{r.Threads} threads per engine, each engine in its own process with its own defaults, {r.Rounds} interleaved round(s) per file (medians). " +
            $"Prefill: a {r.PromptTokens}-token random prompt into a fresh cache. Decode: {r.DecodeTokens} greedy tokens after a 32-token prompt. " +
            $"Streaming read bandwidth: {Gb(r.BandwidthBytesPerSecond)} GB/s.").AppendLine();
        sb.AppendLine("| file | size GB | prefill tok/s ours / llama.cpp (ratio) | decode tok/s ours / llama.cpp (ratio) | decode limit tok/s | % of limit ours / llama.cpp | peak RSS GB ours / llama.cpp (ratio) |");
        sb.AppendLine("|---|---:|---|---|---:|---|---|");
        foreach (var row in r.Rows)
        {
            double limit = r.BandwidthBytesPerSecond / row.DecodeBytesPerToken;
            sb.AppendLine($"| {row.Format} | {Gb(row.FileBytes)} | {F(row.OursPrefill)} / {F(row.LlamaPrefill)} ({F(Ratio(row.OursPrefill, row.LlamaPrefill), 2)}×) " +
                $"| {F(row.OursDecode)} / {F(row.LlamaDecode)} ({F(Ratio(row.OursDecode, row.LlamaDecode), 2)}×) | {F(limit)} " +
                $"| {F(100 * row.OursDecode / limit, 0)}% / {F(100 * row.LlamaDecode / limit, 0)}% | {Gb(row.OursRss)} / {Gb(row.LlamaRss)} ({F(Ratio(row.OursRss, row.LlamaRss), 2)}×) |");
        }
        sb.AppendLine().AppendLine("Our decode time per token by operation (first round):").AppendLine();
        foreach (var row in r.Rows)
        {
            var profile = row.Ours.FirstOrDefault(s => s.Ok)?.DecodeProfile;
            if (profile is null) continue;
            sb.AppendLine($"- {row.Format} ({row.Ours.First(s => s.Ok).WeightFormats}): " +
                string.Join("; ", profile.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {(p.Value * 1000).ToString("F2", CultureInfo.InvariantCulture)} ms")));
        }
        var failures = r.Rows.SelectMany(row => row.Ours.Concat(row.LlamaCpp).Where(s => !s.Ok).Select(s => $"{row.Format} {s.Engine}: {s.Error}")).ToList();
        if (failures.Count > 0)
        {
            sb.AppendLine().AppendLine("Failures:").AppendLine();
            foreach (var f in failures) sb.AppendLine($"- {f}");
        }
        return sb.ToString();
    }
}
