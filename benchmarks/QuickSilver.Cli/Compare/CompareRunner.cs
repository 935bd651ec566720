using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using QuickSilver.Cli.Infrastructure;

namespace QuickSilver.Cli.Compare;

internal sealed class CompareResult
{
    public required string Date { get; init; }
    public required string Machine { get; init; }
    public required string Model { get; init; }
    public required string Text { get; init; }
    public required int Threads { get; init; }
    public required SideResult Ours { get; init; }
    public required SideResult LlamaSharp { get; init; }
    public double? PrefillRatio => Ratio(Ours.PrefillTokensPerSecond, LlamaSharp.PrefillTokensPerSecond);
    public double? DecodeRatio => Ratio(Ours.DecodeTokensPerSecond, LlamaSharp.DecodeTokensPerSecond);
    public double? PerplexityRatio => Ratio(Ours.Perplexity, LlamaSharp.Perplexity);
    public double? PeakMemoryRatio => Ratio(Ours.PeakRssBytes, LlamaSharp.PeakRssBytes);
    public List<string> Notes { get; } = [];

    private static double? Ratio(double? a, double? b) => a is double x && b is double y && y > 0 ? x / y : null;
}

/// <summary>Runs each side in its own child process (so VmHWM is that side's peak alone and a native crash cannot take the other side down), or in-process on request.</summary>
internal static class CompareRunner
{
    public static CompareResult Run(CompareSettings s, bool inProcess, Reporter reporter)
    {
        SideResult ours, llama;
        if (inProcess)
        {
            ours = OursSide.Run(s, reporter);
            llama = LlamaSharpSide.Run(s, reporter);
        }
        else
        {
            ours = RunWorker("quicksilver", s, reporter);
            llama = RunWorker("llamasharp", s, reporter);
        }
        ours.SeparateProcess = llama.SeparateProcess = !inProcess;
        var result = new CompareResult
        {
            Date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'"), Machine = MachineInfo.Describe(), Model = s.Model, Text = s.Text,
            Threads = s.Threads > 0 ? s.Threads : Environment.ProcessorCount, Ours = ours, LlamaSharp = llama,
        };
        if (!ours.Ok) result.Notes.Add($"QuickSilver side failed: {ours.Error}");
        if (!llama.Ok) result.Notes.Add($"LLamaSharp side failed (no LLamaSharp figures): {llama.Error}");
        if (ours.Ok && llama.Ok && ours.TextTokens != llama.TextTokens)
            result.Notes.Add($"The tokenizers disagree on the text ({ours.TextTokens} versus {llama.TextTokens} tokens), so perplexities are per different tokens.");
        if (inProcess) result.Notes.Add("Both sides ran in one process: peak memory is the process peak after each side, not each side alone, and llama.cpp saw the OMP_WAIT_POLICY=PASSIVE our engine sets, which slows its decode several-fold: use the default (separate processes) for speed figures.");
        else result.Notes.Add($"LLamaSharp ran in its own process with its own defaults: none of {string.Join(", ", PeerEnvironment.OurSettings)} or QUICKSILVER_* reached it.");
        return result;
    }

    private static SideResult RunWorker(string side, CompareSettings s, Reporter reporter)
    {
        string resultFile = Path.Combine(Path.GetTempPath(), $"quicksilver-compare-{side}-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        var start = WorkerStartInfo(side);
        foreach (var a in new[]
        {
            "compare-worker", "--side", side, "--model", s.Model, "--text", s.Text, "--policy", s.Policy, "--threads", s.Threads.ToString(CultureInfo.InvariantCulture),
            "--prompt-tokens", s.PromptTokens.ToString(CultureInfo.InvariantCulture), "--decode-tokens", s.DecodeTokens.ToString(CultureInfo.InvariantCulture),
            "--window", s.Window.ToString(CultureInfo.InvariantCulture), "--stride", s.Stride.ToString(CultureInfo.InvariantCulture),
            "--max-tokens", s.MaxTokens.ToString(CultureInfo.InvariantCulture), "--runs", s.Runs.ToString(CultureInfo.InvariantCulture), "--result", resultFile,
        }) start.ArgumentList.Add(a);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        reporter.Line($"… {side}: running in a separate process");
        try
        {
            using var process = Process.Start(start) ?? throw new InvalidOperationException("the worker process did not start");
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            process.WaitForExit();
            if (File.Exists(resultFile))
            {
                var r = JsonSerializer.Deserialize<SideResult>(File.ReadAllText(resultFile), JsonOutput.Options);
                File.Delete(resultFile);
                if (r is not null) return r;
            }
            string tail = string.Join(" ", (stderr.Result + stdout.Result).Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(3));
            return new SideResult { Side = side, Ok = false, Error = $"worker exited with code {process.ExitCode} without a result: {tail}" };
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException or JsonException)
        {
            return new SideResult { Side = side, Ok = false, Error = $"worker could not run: {e.Message}" };
        }
    }

    /// <summary>How a worker for <paramref name="side"/> is started: this CLI again, with the peer's own environment (<see cref="PeerEnvironment"/>).</summary>
    internal static ProcessStartInfo WorkerStartInfo(string side)
    {
        string? processPath = Environment.ProcessPath;
        string assembly = typeof(CompareRunner).Assembly.Location;
        bool viaDotnet = processPath is null || Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        var info = new ProcessStartInfo(viaDotnet ? (processPath ?? "dotnet") : processPath!) { UseShellExecute = false };
        if (viaDotnet) info.ArgumentList.Add(assembly);
        PeerEnvironment.Apply(info, side);
        return info;
    }

    public static string Render(CompareResult r)
    {
        static string F(double? v, int d = 2) => v is double x && double.IsFinite(x) ? x.ToString($"F{d}", CultureInfo.InvariantCulture) : "n/a";
        static string Mb(long? b) => b is long x ? (x / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MiB" : "n/a";
        var o = r.Ours; var l = r.LlamaSharp;
        var sb = new StringBuilder("# QuickSilver versus LLamaSharp\n\n");
        sb.AppendLine($"Model: `{r.Model}`. Text: `{r.Text}`. Threads: {r.Threads} on both sides. Date: {r.Date}. Machine: {r.Machine}.").AppendLine();
        sb.AppendLine("| measurement | QuickSilver (dense) | LLamaSharp | ours / LLamaSharp |").AppendLine("|---|---:|---:|---:|");
        sb.AppendLine($"| prefill tokens/s ({o.PrefillTokens} / {l.PrefillTokens}-token prompt) | {F(o.PrefillTokensPerSecond, 1)} | {F(l.PrefillTokensPerSecond, 1)} | {F(r.PrefillRatio, 3)} |");
        sb.AppendLine($"| decode tokens/s ({o.DecodeTokens} tokens, greedy) | {F(o.DecodeTokensPerSecond, 1)} | {F(l.DecodeTokensPerSecond, 1)} | {F(r.DecodeRatio, 3)} |");
        sb.AppendLine($"| perplexity ({o.ScoredTokens} / {l.ScoredTokens} tokens scored) | {F(o.Perplexity, 4)} | {F(l.Perplexity, 4)} | {F(r.PerplexityRatio, 4)} |");
        sb.AppendLine($"| peak memory (VmHWM{(o.SeparateProcess ? ", own process per side" : "")}) | {Mb(o.PeakRssBytes)} | {Mb(l.PeakRssBytes)} | {F(r.PeakMemoryRatio, 3)} |");
        if (o.PolicyName is not null && o.PolicyName != "dense")
            sb.AppendLine().AppendLine($"QuickSilver with policy `{o.PolicyName}`: prefill {F(o.PolicyPrefillTokensPerSecond, 1)} tokens/s, perplexity {F(o.PolicyPerplexity, 4)}, FLOPs reduction on the prompt {F(o.PolicyFlopsReduction * 100, 1)}%.");
        sb.AppendLine().AppendLine("What each side computes:").AppendLine();
        sb.AppendLine($"- **QuickSilver**: {o.Computes ?? OursSide.Description}");
        sb.AppendLine($"- **LLamaSharp**: {l.Computes ?? LlamaSharpSide.Description}");
        sb.AppendLine("- Peak memory is the process's peak resident set (VmHWM from /proc/self/status) after all measurements; ours includes the libtorch runtime, LLamaSharp's the llama.cpp runtime.");
        if (r.Notes.Count > 0)
        {
            sb.AppendLine().AppendLine("Notes:").AppendLine();
            foreach (var n in r.Notes) sb.AppendLine($"- {n}");
        }
        return sb.ToString();
    }
}
