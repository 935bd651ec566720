using QuickSilver.Cli.Commands;
using QuickSilver.Cli.Compare;
using QuickSilver.Cli.Infrastructure;
using QuickSilver.Engine.Runtime;

namespace QuickSilver.Cli.Bench;

/// <summary>
/// bench --summary-json: the quick versions of bench, the 1%-perplexity operating point and compare, reduced to
/// one flat JSON object with fixed keys. A measurement that cannot run leaves null and says why in "notes".
/// </summary>
internal static class SummaryRunner
{
    public static readonly string[] Keys =
    [
        "dense_achieved_over_raw_flops", "realization_profile_30", "realization_profile_50", "overhead_nothing_firing",
        "flops_reduction_at_1pct_ppl", "speedup_at_1pct_ppl", "ppl_dense", "ppl_policy",
        "prefill_tokens_per_s_ours", "prefill_tokens_per_s_llamasharp", "decode_tokens_per_s_ours", "decode_tokens_per_s_llamasharp",
        "kv_bytes_ratio", "model", "threads", "date", "notes",
        // issue 12, point 4 and 5 (spec)
        "speculative_speedup_agent", "jump_forward_speedup", "prefix_cache_ttft_ratio", "speculative_oracle_step_ceiling",
    ];

    public static string CheckPath(string path)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new CliException($"--summary-json '{path}' is a folder; give a file path.");
        string? dir = Path.GetDirectoryName(full);
        if (dir is not null) OutputFolder.Prepare(dir);
        return full;
    }

    public static Dictionary<string, object?> Run(BenchSettings s, string? gguf, string? evalText, string? calibText, OutputFolder folder, Reporter reporter)
    {
        var notes = new List<string>();
        var summary = Keys.ToDictionary(k => k, _ => (object?)null);
        summary["threads"] = s.Threads;
        summary["date"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ");

        var quick = new BenchSettings { RandomModel = s.RandomModel, Model = null, Tokens = s.Tokens, Runs = Math.Min(s.Runs, 5), MatmulReps = 5, Threads = s.Threads, Seed = s.Seed };
        var bench = BenchRunner.Run(quick, reporter);
        folder.WriteReport("bench", BenchMarkdown.Render(bench), bench);
        summary["dense_achieved_over_raw_flops"] = JsonOutput.Finite(bench.AchievedOverRaw);
        summary["realization_profile_30"] = JsonOutput.Finite(bench.Realization.FirstOrDefault(r => r.Name == "halting-30")?.Realization.Median);
        summary["realization_profile_50"] = JsonOutput.Finite(bench.Realization.FirstOrDefault(r => r.Name == "halting-50")?.Realization.Median);
        summary["overhead_nothing_firing"] = JsonOutput.Finite(bench.Overhead?.TimeRatio.Median);
        notes.Add($"bench ratios measured on {s.RandomModel} at {bench.Tokens} tokens, {quick.Runs} interleaved runs (medians).");

        string? modelPath = s.Model;
        summary["model"] = modelPath is not null ? Path.GetFileName(modelPath) : gguf is not null ? Path.GetFileName(gguf) : s.RandomModel;
        if (modelPath is null) notes.Add("No --model: the 1%-perplexity operating point was not measured.");
        else if (evalText is null || calibText is null) notes.Add("No --eval-text/--calibration-text: the 1%-perplexity operating point was not measured.");
        else if (Path.GetFullPath(evalText) == Path.GetFullPath(calibText)) notes.Add("--eval-text equals --calibration-text: refusing to report an operating point calibrated on its own evaluation text.");
        else
        {
            try
            {
                OperatingPoint(modelPath, s, evalText, calibText, summary, notes, reporter);
            }
            catch (CliException e)
            {
                notes.Add($"Operating point not measured: {e.Message}");
            }
        }

        Accelerations(s, summary, notes, reporter);

        if (gguf is null) notes.Add("No --gguf: the LLamaSharp comparison was not run.");
        else if (evalText is null) notes.Add("No --eval-text: the LLamaSharp comparison was not run.");
        else
        {
            var compare = CompareRunner.Run(new CompareSettings
            {
                Model = gguf, Text = evalText, Policy = "dense", Threads = s.Threads, Runs = 3, MaxTokens = 1024,
            }, inProcess: false, reporter);
            folder.WriteReport("compare", CompareRunner.Render(compare), compare);
            summary["prefill_tokens_per_s_ours"] = JsonOutput.Finite(compare.Ours.PrefillTokensPerSecond);
            summary["decode_tokens_per_s_ours"] = JsonOutput.Finite(compare.Ours.DecodeTokensPerSecond);
            summary["prefill_tokens_per_s_llamasharp"] = JsonOutput.Finite(compare.LlamaSharp.PrefillTokensPerSecond);
            summary["decode_tokens_per_s_llamasharp"] = JsonOutput.Finite(compare.LlamaSharp.DecodeTokensPerSecond);
            notes.AddRange(compare.Notes);
            notes.Add($"prefill/decode measured on {Path.GetFileName(gguf)} ({compare.Ours.PrefillTokens}-token prompt, {compare.Ours.DecodeTokens} greedy tokens), each side in its own process.");
        }
        summary["notes"] = string.Join(" ", notes);
        return summary;
    }

    /// <summary>Issue 12's lossless accelerations (spec): speculative decoding, jump-forward, prefix cache.</summary>
    private static void Accelerations(BenchSettings s, Dictionary<string, object?> summary, List<string> notes, Reporter reporter)
    {
        int runs = Math.Min(s.Runs, 7);
        string? stories = SharedPaths.Stories260KBin;
        if (stories is null) notes.Add("No shared stories260K: speculative_speedup_agent was not measured.");
        else
        {
            using var lm = ModelLoader.Load(stories, s.Threads);
            summary["speculative_speedup_agent"] = JsonOutput.Finite(reporter.Task("Speculative decoding (agent workload)", 1, _ => AccelerationBench.SpeculativeSpeedup(lm, Math.Max(s.Tokens, 64), runs, notes)));
            summary["speculative_oracle_step_ceiling"] = JsonOutput.Finite(AccelerationBench.OracleStepCeiling);
            summary["prefix_cache_ttft_ratio"] = JsonOutput.Finite(reporter.Task("Prefix cache (second conversation)", 1, _ => AccelerationBench.PrefixCacheTtftRatio(lm, runs, notes)));
        }
        using (var tiny = ModelLoader.Load(s.RandomModel, s.Threads))
            summary["jump_forward_speedup"] = JsonOutput.Finite(reporter.Task("Jump-forward (6-field JSON schema)", 1, _ => AccelerationBench.JumpForwardSpeedup(tiny, runs, notes)));
    }

    private static void OperatingPoint(string modelPath, BenchSettings s, string evalText, string calibText, Dictionary<string, object?> summary, List<string> notes, Reporter reporter)
    {
        using var lm = ModelLoader.Load(modelPath, s.Threads);
        int window = Math.Min(256, lm.Config.MaxPositions), stride = window / 2;
        var evalIds = lm.Tokenizer.Encode(TextInput.Read(evalText, "--eval-text"), addBos: true).Take(2048).ToList();
        var inputs = Calibration.Inputs(lm, TextInput.Read(calibText, "--calibration-text"), null, null, 2048);
        // Several mechanisms are calibrated separately; the one that saves most FLOPs within 1% on the held-out half of the
        // calibration text is chosen there (never on the evaluation text), then measured on the evaluation text.
        QuickSilver.Policies.Calibration.CalibrationResult? chosen = null;
        QuickSilver.Policies.Calibration.GridPoint? best = null;
        string chosenName = "";
        foreach (var (name, basePolicy, fields) in OperatingPointCandidates(lm.Config.NumLayers))
        {
            var result = Calibration.Run(lm, inputs, basePolicy, fields, window, 15, 0.01, null, reporter);
            var point = result.Report.Sweep?.Chosen;
            notes.Add($"Candidate {name}: " + (point is null ? "nothing within 1% on the held-out half beats dense." : $"FLOPs reduction {point.FlopsReduction:P2} at ΔPPL {point.PplRelativeIncrease:P2} on the held-out half."));
            if (point is not null && (best is null || point.FlopsReduction > best.FlopsReduction)) (chosen, best, chosenName) = (result, point, name);
        }
        if (chosen is null || best is null)
        {
            notes.Add("No candidate found a point within 1% perplexity on the held-out half of the calibration text.");
            return;
        }
        var policy = chosen.Policy;
        var dense = PplCommand.Evaluate(lm, modelPath, evalText, "", window, stride, PolicyCatalog.Dense(), null, reporter, evalIds);
        var routed = PplCommand.Evaluate(lm, modelPath, evalText, "", window, stride, policy, null, reporter, evalIds);
        summary["ppl_dense"] = JsonOutput.Finite(dense.Perplexity);
        summary["ppl_policy"] = JsonOutput.Finite(routed.Perplexity);
        summary["flops_reduction_at_1pct_ppl"] = JsonOutput.Finite(routed.FlopsReduction);
        var prompt = evalIds.Take(Math.Min(512, lm.Config.MaxPositions)).ToList();
        var plan = new RoutingPlan(policy, lm.Config);
        using var densePrefill = new Prefill(lm, prompt);
        using var routedPrefill = new Prefill(lm, prompt, plan, lm.ResolveProtectedIds(plan, null).FlagsFor(prompt));
        var stats = routedPrefill.Run();
        var times = reporter.Task("Speedup at the 1% operating point", 7, p => Timing.Interleaved(7, [() => densePrefill.Run(), () => routedPrefill.Run()], r => p(r)));
        summary["speedup_at_1pct_ppl"] = JsonOutput.Finite(Summary.Of(Timing.Ratios(times[0], times[1])).Median);
        summary["kv_bytes_ratio"] = stats.DenseKvBytes > 0 ? stats.KvBytes / (double)stats.DenseKvBytes : null;
        notes.Add($"Operating point: {chosenName}, calibrated by percentile on {Path.GetFileName(calibText)} and swept on its held-out half (ΔPPL {best.PplRelativeIncrease:P2} there), evaluated on {Path.GetFileName(evalText)} (ΔPPL {routed.Perplexity / dense.Perplexity - 1:P2}); speedup and kv_bytes_ratio from a {prompt.Count}-token prefill.");
    }

    /// <summary>The mechanisms tried for the 1% operating point, each with the thresholds its sweep varies.</summary>
    internal static IEnumerable<(string Name, QuickSilver.Policies.QuickSilverPolicy Policy, string[] Fields)> OperatingPointCandidates(int layers)
    {
        var halting = QuickSilver.Policies.QuickSilverPolicy.Safe();
        yield return ("halting (safe base, drift-gated exact entropy)", halting, Calibration.HaltingFields);

        var proxy = QuickSilver.Policies.QuickSilverPolicy.Safe();
        proxy.Name = "safe-proxy";
        proxy.Halting.EntropyMode = QuickSilver.Policies.EntropySignalMode.Proxy;
        yield return ("halting (safe base, low-rank proxy entropy)", proxy, Calibration.HaltingFields);

        var fusion = QuickSilver.Policies.QuickSilverPolicy.Safe();
        fusion.Name = "safe-fusion";
        fusion.Halting.Enabled = false;
        fusion.Fusion = new QuickSilver.Policies.FusionPolicy { Enabled = true, StartLayer = Math.Max(1, layers / 2), RelativeDistance = true };
        yield return ("fusion (adjacent, relative distance)", fusion, [QuickSilver.Policies.Calibration.ThresholdFields.FusionDistance]);
    }

    public static void Write(string path, Dictionary<string, object?> summary)
    {
        try
        {
            File.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(summary, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"Cannot write --summary-json '{path}': {e.Message}", ExitCodes.Failure, e);
        }
    }
}
