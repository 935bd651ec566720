using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine;
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
    /// <summary>The streaming read bandwidth of the run (for the decode limit).</summary>
    public double BandwidthBytesPerSecond { get; init; }
    public List<SpeedSide> Ours { get; } = [];
    public List<SpeedSide> LlamaCpp { get; } = [];
    public double? OursPrefill => Median(Ours.Select(s => s.PrefillTokensPerSecond));
    public double? LlamaPrefill => Median(LlamaCpp.Select(s => s.PrefillTokensPerSecond));
    public double? OursDecode => Median(Ours.Select(s => s.DecodeTokensPerSecond));
    public double? LlamaDecode => Median(LlamaCpp.Select(s => s.DecodeTokensPerSecond));
    public double? OursRss => Median(Ours.Select(s => (double?)s.PeakRssBytes));
    public double? LlamaRss => Median(LlamaCpp.Select(s => (double?)s.PeakRssBytes));

    /// <summary>Ours on the tensor path (the decode before the host row path), tokens/s.</summary>
    public double? OursTensorPathDecode => Median(Ours.Select(s => s.Ok && s.TensorPathDecodeSecondsPerToken > 0 ? 1 / s.TensorPathDecodeSecondsPerToken : null));
    public double? DecodeLimit => DecodeBytesPerToken > 0 && BandwidthBytesPerSecond > 0 ? BandwidthBytesPerSecond / DecodeBytesPerToken : null;
    public double? PrefillRatio => Ratio(OursPrefill, LlamaPrefill);
    public double? DecodeRatio => Ratio(OursDecode, LlamaDecode);
    public double? RssRatio => Ratio(OursRss, LlamaRss);
    public double? OursBandwidthFraction => Ratio(OursDecode, DecodeLimit);
    public double? LlamaBandwidthFraction => Ratio(LlamaDecode, DecodeLimit);
    /// <summary>Our decode on the row path ÷ on the tensor path, same process (the per-token overhead removed).</summary>
    public double? RowPathSpeedup => Ratio(OursDecode, OursTensorPathDecode);

    internal static double? Ratio(double? a, double? b) => a is double x && b is double y && y > 0 && double.IsFinite(x) ? x / y : null;

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
    /// <summary>Our K/V cache's storage (<c>--kv-type</c>); llama.cpp keeps its default (float16).</summary>
    public string KvCacheType { get; init; } = nameof(Engine.KvCacheType.Float32);
    public double BandwidthBytesPerSecond { get; init; }
    public List<SpeedRow> Rows { get; } = [];
    /// <summary>stories260K on both engines (per-token overhead alone), or null when skipped.</summary>
    public SpeedRow? Stories { get; set; }

    /// <summary>The headline ratios by key (ours ÷ llama.cpp unless named otherwise), for RESULTS.md and scripts.</summary>
    public Dictionary<string, double?> Ratios
    {
        get
        {
            var ratios = new Dictionary<string, double?>();
            foreach (var row in Rows)
            {
                string key = row.Format.ToLowerInvariant();
                ratios[$"{key}_prefill_ratio"] = row.PrefillRatio;
                ratios[$"{key}_decode_ratio"] = row.DecodeRatio;
                ratios[$"{key}_rss_ratio"] = row.RssRatio;
                ratios[$"{key}_bandwidth_fraction_ours"] = row.OursBandwidthFraction;
                ratios[$"{key}_bandwidth_fraction_llamacpp"] = row.LlamaBandwidthFraction;
                ratios[$"{key}_row_path_speedup"] = row.RowPathSpeedup;
            }
            if (Stories is { } s)
            {
                ratios["stories260k_decode_ratio"] = s.DecodeRatio;
                ratios["stories260k_prefill_ratio"] = s.PrefillRatio;
                ratios["stories260k_row_path_speedup"] = s.RowPathSpeedup;
            }
            return ratios;
        }
    }
}

/// <summary>Creates the files, measures bandwidth, runs every engine on every file in its own process (interleaved rounds), renders the table.</summary>
internal static class SpeedRunner
{
    public static SpeedResult Run(string cache, IReadOnlyList<string> formats, string? stories, int threads, int prompt, int decode, int rounds, int runs, Reporter reporter, string command,
        KvCacheType kvType = Engine.KvCacheType.Float32)
    {
        var files = formats.Select(f => (Format: f, Path: SpeedModels.Ensure(cache, f, reporter.Line))).ToList();
        reporter.Line("measuring streaming read bandwidth");
        var result = new SpeedResult
        {
            Date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture), Machine = MachineInfo.Describe(), Command = command,
            Threads = threads, PromptTokens = prompt, DecodeTokens = decode, Rounds = rounds, KvCacheType = kvType.ToString(), BandwidthBytesPerSecond = MemoryBandwidth.BytesPerSecond(threads),
        };
        if (stories is not null)
        {
            // Tiny weights: the decode is per-token overhead alone. Cheap, so more rounds; its context is 512.
            result.Stories = Measure("stories260K", stories, result.BandwidthBytesPerSecond, threads, Math.Min(prompt, StoriesContext), decode, Math.Max(rounds, 3), runs, reporter, kvType);
        }
        foreach (var (format, path) in files)
            result.Rows.Add(Measure(format, path, result.BandwidthBytesPerSecond, threads, prompt, decode, rounds, runs, reporter, kvType));
        return result;
    }

    /// <summary>Positions of stories260K.</summary>
    public const int StoriesContext = 512;

    private static SpeedRow Measure(string format, string path, double bandwidth, int threads, int prompt, int decode, int rounds, int runs, Reporter reporter, KvCacheType kvType)
    {
        var gguf = GgufFile.Read(path);
        var row = new SpeedRow
        {
            Format = format, File = path, FileBytes = new FileInfo(path).Length, BandwidthBytesPerSecond = bandwidth,
            DecodeBytesPerToken = gguf.Tensors.Where(t => t.Name != "token_embd.weight").Sum(t => t.ByteSize ?? 0),
        };
        for (int r = 0; r < rounds; r++)
        {
            // Alternate which engine goes first so drift of the machine hits both alike.
            foreach (string engine in r % 2 == 0 ? new[] { SpeedWorker.Ours, SpeedWorker.LlamaCpp } : [SpeedWorker.LlamaCpp, SpeedWorker.Ours])
            {
                long start = Stopwatch.GetTimestamp();
                var side = RunWorker(engine, path, threads, prompt, decode, runs, kvType);
                (engine == SpeedWorker.Ours ? row.Ours : row.LlamaCpp).Add(side);
                reporter.Line($"{format} round {r + 1}/{rounds}: {engine} " + (side.Ok
                    ? $"prefill {side.PrefillTokensPerSecond:F1} tok/s, decode {side.DecodeTokensPerSecond:F1} tok/s ({Stopwatch.GetElapsedTime(start).TotalSeconds:F0} s)"
                    : $"failed: {side.Error}"));
            }
        }
        return row;
    }

    private static SpeedSide RunWorker(string engine, string model, int threads, int prompt, int decode, int runs, KvCacheType kvType)
    {
        string resultFile = Path.Combine(Path.GetTempPath(), $"quicksilver-speed-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        string? processPath = Environment.ProcessPath;
        bool viaDotnet = processPath is null || Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        var start = new ProcessStartInfo(viaDotnet ? (processPath ?? "dotnet") : processPath!) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (viaDotnet) start.ArgumentList.Add(typeof(SpeedRunner).Assembly.Location);
        foreach (var a in new[] { "speed-worker", "--engine", engine, "--model", model, "--threads", I(threads), "--prompt-tokens", I(prompt), "--decode-tokens", I(decode), "--runs", I(runs), "--result", resultFile })
            start.ArgumentList.Add(a);
        if (engine == SpeedWorker.Ours) foreach (var a in new[] { "--kv-type", kvType.ToString() }) start.ArgumentList.Add(a);
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
        static string Pct(double? v) => v is double x && double.IsFinite(x) ? (100 * x).ToString("F0", CultureInfo.InvariantCulture) + "%" : "n/a";
        var sb = new StringBuilder("# Speed: QuickSilver versus llama.cpp on the random 374M Llama\n\n");
        sb.AppendLine($"Command: `{r.Command}`. Date: {r.Date}. Machine: {r.Machine}.").AppendLine();
        sb.AppendLine($"{r.Threads} threads per engine, each engine in its own process with its own defaults, {r.Rounds} interleaved round(s) per file (medians). " +
            $"Prefill: a {r.PromptTokens}-token random prompt into a fresh cache. Decode: {r.DecodeTokens} greedy tokens after a 32-token prompt. " +
            $"Our K/V cache: {r.KvCacheType} (llama.cpp: its default, float16). Streaming read bandwidth: {Gb(r.BandwidthBytesPerSecond)} GB/s.").AppendLine();
        sb.AppendLine("| file | size GB | prefill tok/s ours / llama.cpp (ratio) | decode tok/s ours / llama.cpp (ratio) | decode limit tok/s | % of limit ours / llama.cpp | peak RSS GB ours / llama.cpp (ratio) |");
        sb.AppendLine("|---|---:|---|---|---:|---|---|");
        foreach (var row in r.Rows)
        {
            sb.AppendLine($"| {row.Format} | {Gb(row.FileBytes)} | {F(row.OursPrefill)} / {F(row.LlamaPrefill)} ({F(row.PrefillRatio, 2)}×) " +
                $"| {F(row.OursDecode)} / {F(row.LlamaDecode)} ({F(row.DecodeRatio, 2)}×) | {F(row.DecodeLimit)} " +
                $"| {Pct(row.OursBandwidthFraction)} / {Pct(row.LlamaBandwidthFraction)} | {Gb(row.OursRss)} / {Gb(row.LlamaRss)} ({F(row.RssRatio, 2)}×) |");
        }
        if (r.Stories is { } s)
        {
            sb.AppendLine().AppendLine($"stories260K (per-token overhead alone; {Math.Max(r.Rounds, 3)} interleaved rounds, prompt {Math.Min(r.PromptTokens, StoriesContext)}): " +
                $"decode {F(s.OursDecode, 0)} / {F(s.LlamaDecode, 0)} tok/s ours / llama.cpp (**{F(s.DecodeRatio, 2)}×**), " +
                $"prefill {F(s.OursPrefill, 0)} / {F(s.LlamaPrefill, 0)} tok/s ({F(s.PrefillRatio, 2)}×), peak RSS {Gb(s.OursRss)} / {Gb(s.LlamaRss)} GB.");
        }
        var all = (r.Stories is null ? r.Rows : r.Rows.Prepend(r.Stories)).ToList();
        sb.AppendLine().AppendLine("Resident memory by stage, GB (VmRSS, with the peak so far; first successful round):").AppendLine();
        foreach (var row in all)
        {
            string? ours = MemoryStage.Describe(row.Ours.FirstOrDefault(x => x.Ok)), peer = MemoryStage.Describe(row.LlamaCpp.FirstOrDefault(x => x.Ok));
            if (ours is not null || peer is not null) sb.AppendLine($"- {row.Format}: ours {ours ?? "n/a"}; llama.cpp {peer ?? "n/a"}");
        }
        sb.AppendLine().AppendLine("Our managed allocations (they fill the .NET GC's gen0 budget, whose pages become resident), first successful round:").AppendLine();
        foreach (var row in all)
        {
            if (row.Ours.FirstOrDefault(x => x.Ok) is { ManagedBytesPerPrefill: long prefill, ManagedBytesPerDecodeToken: long token })
                sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"- {row.Format}: {prefill / 1e6:F2} MB per prefill, {token / 1e3:F1} KB per decode token"));
        }
        sb.AppendLine().AppendLine("Per-token overhead: our decode on the host row path (managed kernels, one tensor per step) against the tensor path " +
            "(one libtorch call per operation, the engine before issue 11 part 3), same process:").AppendLine();
        foreach (var row in all)
            sb.AppendLine($"- {row.Format}: {F(row.OursDecode)} / {F(row.OursTensorPathDecode)} tok/s (row path {F(row.RowPathSpeedup, 2)}× faster)");
        sb.AppendLine().AppendLine("Our decode time per token by operation (mean over a profiled pass, first successful round; row path, then tensor path):").AppendLine();
        foreach (var row in all)
        {
            var first = row.Ours.FirstOrDefault(x => x.Ok);
            if (first?.DecodeProfile is null) continue;
            sb.AppendLine($"- {row.Format} ({first.WeightFormats}), row path: {Profile(first.DecodeProfile)}");
            if (first.TensorPathDecodeProfile is { } tensor) sb.AppendLine($"- {row.Format}, tensor path: {Profile(tensor)}");
        }
        sb.AppendLine().AppendLine("Ratios (JSON key `ratios`):").AppendLine();
        foreach (var (key, value) in r.Ratios) sb.AppendLine($"- {key}: {F(value, 3)}");
        var failures = all.SelectMany(row => row.Ours.Concat(row.LlamaCpp).Where(x => !x.Ok).Select(x => $"{row.Format} {x.Engine}: {x.Error}")).ToList();
        if (failures.Count > 0)
        {
            sb.AppendLine().AppendLine("Failures:").AppendLine();
            foreach (var f in failures) sb.AppendLine($"- {f}");
        }
        return sb.ToString();
    }

    private static string Profile(Dictionary<string, double> profile)
    {
        double total = profile.Values.Sum();
        return $"total {(total * 1000).ToString("F3", CultureInfo.InvariantCulture)} ms: " + string.Join("; ", profile.OrderByDescending(p => p.Value)
            .Select(p => $"{p.Key} {(p.Value * 1000).ToString("F3", CultureInfo.InvariantCulture)} ms ({(100 * p.Value / total).ToString("F0", CultureInfo.InvariantCulture)}%)"));
    }
}
