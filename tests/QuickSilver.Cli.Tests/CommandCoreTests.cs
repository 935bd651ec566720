using System.Text.Json;
using QuickSilver.Policies;

namespace QuickSilver.Cli.Tests;

/// <summary>Each command's core on the tiny random model: it runs, writes its files, and what it writes agrees with independent expectations.</summary>
public sealed class CommandCoreTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Text() => _temp.WriteText("text.txt", Texts.English);

    private static void AssertSuccess(CliRun run) => Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Error}\n{run.Output}");

    [Fact]
    public void RegimesMeasuresEveryRegimeOnATinyModel()
    {
        string outDir = _temp.File("regimes");
        var run = CliRun.Invoke("regimes", "--model", "random:tiny", "--text", Text(), "--runs", "1", "--long-model", "random:tiny", "--out", outDir);
        AssertSuccess(run);
        var rows = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "regimes.json"))).RootElement.EnumerateArray().ToList();
        var regimes = rows.Select(r => r.GetProperty("regime").GetString()).Distinct().ToList();
        Assert.Equal(["K/V precision", "Fusion", "Decode", "Long context"], regimes);
        // Packed K/V really shrinks the cache, more at fewer bits.
        var kv = rows.Where(r => r.GetProperty("regime").GetString() == "K/V precision").Select(r => r.GetProperty("kv_bytes_ratio").GetDouble()).ToList();
        Assert.True(kv[0] < 1 && kv[1] < kv[0] && kv[2] < kv[1]);
        // Prescribed decode halting removes work.
        Assert.All(rows.Where(r => r.GetProperty("regime").GetString() == "Decode"), r => Assert.True(r.GetProperty("flops_reduction").GetDouble() > 0));
        Assert.Contains("Regimes", File.ReadAllText(Path.Combine(outDir, "regimes.md")));
    }

    [Fact]
    public void PplScoresEveryTokenAfterTheFirstOnce()
    {
        string outDir = _temp.File("ppl");
        var run = CliRun.Invoke("ppl", "--model", "random:tiny", "--text", Text(), "--out", outDir, "--window", "64", "--stride", "24", "--max-tokens", "200");
        AssertSuccess(run);
        var json = _temp.Json("ppl/ppl.json");
        Assert.Equal(200, json.GetProperty("total_tokens").GetInt64());
        Assert.Equal(199, json.GetProperty("scored_tokens").GetInt64());
        double ppl = json.GetProperty("perplexity").GetDouble();
        Assert.Equal(Math.Exp(json.GetProperty("mean_nll").GetDouble()), ppl, 6);
        Assert.InRange(ppl, 1.0, 1e6);
        Assert.Contains("| random:tiny |", File.ReadAllText(Path.Combine(outDir, "ppl.md")));
    }

    [Fact]
    public void PplUnderAPolicyReportsItsCounts()
    {
        var run = CliRun.Invoke("ppl", "--model", "random:tiny", "--text", Text(), "--out", _temp.File("ppl"), "--window", "64", "--stride", "32", "--max-tokens", "160", "--policy", "paper");
        AssertSuccess(run);
        var json = _temp.Json("ppl/ppl.json");
        Assert.Equal("paper", json.GetProperty("policy").GetString());
        Assert.True(json.GetProperty("dense_flops").GetDouble() > 0);
        Assert.True(json.GetProperty("router_flops").GetDouble() > 0, "the paper policy's signals cost FLOPs");
    }

    [Fact]
    public void BenchRemovesExactlyThePrescribedTokenLayers()
    {
        var run = CliRun.Invoke("bench", "--model", "none", "--random-model", "random:tiny", "--tokens", "64", "--runs", "1", "--out", _temp.File("bench"));
        AssertSuccess(run);
        var json = _temp.Json("bench/bench.json");
        var profiles = json.GetProperty("realization").EnumerateArray().ToList();
        Assert.Equal(["halting-30", "halting-50", "fusion-pairs"], profiles.Select(p => p.GetProperty("name").GetString()));
        // tiny model: 4 layers, decisions after 1 block. Halting 30%: round(0.4·63) = 25 tokens lose 3 of 4 layers; fusion: 32 pairs lose 3 layers each.
        double[] expected = [25 * 3 / 256.0, 42 * 3 / 256.0, 32 * 3 / 256.0];
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(expected[i], profiles[i].GetProperty("removed_token_layer_fraction").GetDouble(), 9);
            Assert.Equal(expected[i], profiles[i].GetProperty("target_removed_fraction").GetDouble(), 9);
            Assert.True(profiles[i].GetProperty("flops_saved_fraction").GetDouble() > 0);
        }
        var overhead = json.GetProperty("overhead");
        Assert.Equal(0, overhead.GetProperty("removed_token_layer_fraction").GetDouble());
        Assert.True(overhead.GetProperty("router_flops").GetDouble() > 0);
        Assert.True(json.GetProperty("matmul").GetProperty("flops").GetDouble() > 0);
        Assert.Contains("Realization", File.ReadAllText(_temp.File("bench/bench.md")));
    }

    [Fact]
    public void SummaryJsonHasExactlyTheDocumentedKeysAndExplainsNulls()
    {
        string summary = _temp.File("summary/summary.json");
        var run = CliRun.Invoke("bench", "--model", "none", "--gguf", "none", "--random-model", "random:tiny", "--tokens", "48", "--runs", "1",
            "--out", _temp.File("bench"), "--summary-json", summary, "--batch-formats", "none");
        AssertSuccess(run);
        var json = JsonDocument.Parse(File.ReadAllText(summary)).RootElement;
        string[] keys =
        [
            "dense_achieved_over_raw_flops", "realization_profile_30", "realization_profile_50", "overhead_nothing_firing",
            "flops_reduction_at_1pct_ppl", "speedup_at_1pct_ppl", "ppl_dense", "ppl_policy",
            "prefill_tokens_per_s_ours", "prefill_tokens_per_s_llamasharp", "decode_tokens_per_s_ours", "decode_tokens_per_s_llamasharp",
            "kv_bytes_ratio", "model", "threads", "date", "notes",
            "speculative_speedup_agent", "jump_forward_speedup", "prefix_cache_ttft_ratio", "speculative_oracle_step_ceiling",
            "batch8_throughput_ratio", "batch8_throughput_ratio_q8_0", "batch8_throughput_ratio_bench_model",
        ];
        Assert.Equal(keys, json.EnumerateObject().Select(p => p.Name));
        Assert.Equal(JsonValueKind.Null, json.GetProperty("batch8_throughput_ratio").ValueKind);
        Assert.Equal(JsonValueKind.Number, json.GetProperty("dense_achieved_over_raw_flops").ValueKind);
        Assert.Equal(JsonValueKind.Number, json.GetProperty("overhead_nothing_firing").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("ppl_dense").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("prefill_tokens_per_s_llamasharp").ValueKind);
        string notes = json.GetProperty("notes").GetString()!;
        Assert.Contains("No --model", notes);
        Assert.Contains("No --gguf", notes);
        Assert.Contains("batch8_throughput_ratio: not measured (--batch-formats)", notes);
        Assert.Equal("random:tiny", json.GetProperty("model").GetString());
        Assert.True(json.GetProperty("threads").GetInt32() >= 1);
    }

    [Fact]
    public void TraceWritesFivePngsOfTheRequestedSize()
    {
        var run = CliRun.Invoke("trace", "--model", "random:tiny", "--text", Text(), "--out", _temp.File("trace"), "--max-tokens", "40", "--width", "640", "--height", "360", "--policy", "paper");
        AssertSuccess(run);
        foreach (var name in new[] { "halting-timeline.png", "kv-writes.png", "fusion-flow.png", "entropy-histograms.png", "bits-heatmap.png" })
            Assert.Equal((640, 360), PngHeader.Read(_temp.File("trace/" + name)));
        var json = _temp.Json("trace/trace.json");
        Assert.Equal(40, json.GetProperty("per_token").GetArrayLength());
        var md = File.ReadAllText(_temp.File("trace/trace.md"));
        Assert.Contains("| pos | token | halting depth |", md);
    }

    [Fact]
    public void TraceOfAForcedHaltingPolicyShowsEveryTokenHaltingAtTheMinimumDepth()
    {
        var policy = new QuickSilverPolicy
        {
            Name = "halt-everything",
            Halting = new HaltingPolicy { Enabled = true, MinLayer = 2, DriftThreshold = 1e6f, EntropyThreshold = 1e6f, EntropyMode = EntropySignalMode.DriftGated },
            KvSkip = new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip },
            Lexicons = new TokenLexicons { ProtectNegations = false, ProtectJsonStructure = false },
        };
        string path = _temp.File("halt.json");
        PolicySerializer.Save(policy, path);
        var run = CliRun.Invoke("trace", "--model", "random:tiny", "--text", Text(), "--out", _temp.File("trace"), "--max-tokens", "30", "--policy", path);
        AssertSuccess(run);
        var tokens = _temp.Json("trace/trace.json").GetProperty("per_token").EnumerateArray().ToList();
        Assert.All(tokens, t => Assert.Equal(2, t.GetProperty("halt_layer").GetInt32()));
        Assert.All(tokens, t => Assert.Equal(2, t.GetProperty("kv_layers_written").GetInt32())); // KV skip: no writes after halting
    }

    [Fact]
    public void PosCountsEveryTokenInExactlyOneClass()
    {
        var policy = new QuickSilverPolicy
        {
            Name = "halt-everything",
            Halting = new HaltingPolicy { Enabled = true, MinLayer = 1, DriftThreshold = 1e6f, EntropyThreshold = 1e6f, EntropyMode = EntropySignalMode.DriftGated },
            Lexicons = new TokenLexicons { ProtectNegations = false, ProtectJsonStructure = false },
        };
        string path = _temp.File("halt.json");
        PolicySerializer.Save(policy, path);
        var run = CliRun.Invoke("pos", "--model", "random:tiny", "--text", Text(), "--out", _temp.File("pos"), "--policy", path, "--window", "128");
        AssertSuccess(run);
        var rows = _temp.Json("pos/pos.json").GetProperty("rows").EnumerateArray().ToDictionary(r => r.GetProperty("category").GetString()!);
        string[] classes = ["Determiner", "Preposition", "Conjunction", "Pronoun", "Auxiliary", "Content", "Other"];
        int bytes = System.Text.Encoding.UTF8.GetByteCount(Texts.English); // byte tokenizer: one token per byte, BOS excluded
        Assert.Equal(bytes, classes.Sum(c => rows[c].GetProperty("tokens").GetInt32()));
        string[] function = classes[..5];
        Assert.Equal(function.Sum(c => rows[c].GetProperty("tokens").GetInt32()), rows["All function words"].GetProperty("tokens").GetInt32());
        // "the" occurs 14 times in the text, "a" 4 times as a word: determiners include at least those.
        Assert.True(rows["Determiner"].GetProperty("words").GetInt32() >= 18);
        foreach (var c in classes.Where(c => rows[c].GetProperty("tokens").GetInt32() > 0))
            Assert.Equal(1.0, rows[c].GetProperty("halting_rate").GetDouble()); // thresholds that always pass: every token halts
    }

    [Fact]
    public void AblateWritesTable11AndTable3()
    {
        var run = CliRun.Invoke("ablate", "--model", "random:tiny", "--text", Text(), "--out", _temp.File("ablate"), "--runs", "1", "--timed-tokens", "48",
            "--max-tokens", "200", "--window", "64", "--stride", "32", "--policy", "paper");
        AssertSuccess(run);
        var json = _temp.Json("ablate/ablate.json");
        var alone = json.GetProperty("alone").EnumerateArray().ToList();
        var cumulative = json.GetProperty("cumulative").EnumerateArray().ToList();
        var quant = json.GetProperty("quantization").EnumerateArray().ToList();
        Assert.Equal(5, alone.Count);
        Assert.Equal(["none", "H", "H+KV", "H+KV+F", "H+KV+F+Q"], cumulative.Select(r => r.GetProperty("mechanisms").GetString()));
        Assert.Equal(5, quant.Count);
        double dense = json.GetProperty("dense_perplexity").GetDouble();
        Assert.Equal(dense, alone[0].GetProperty("perplexity").GetDouble());
        Assert.Equal(0, alone[0].GetProperty("delta_ppl").GetDouble());
        Assert.Equal(dense, quant[0].GetProperty("perplexity").GetDouble()); // full precision is the dense model
        // Uniform 8-bit assigns every token 8 bits; 4/8 never assigns 2.
        Assert.Equal(0, quant[1].GetProperty("tokens4_bit").GetInt64() + quant[1].GetProperty("tokens2_bit").GetInt64());
        Assert.Equal(0, quant[3].GetProperty("tokens2_bit").GetInt64());
        Assert.Contains("Table 11a", File.ReadAllText(_temp.File("ablate/ablate.md")));
    }

    [Fact]
    public void CalibrateWritesALoadablePolicy()
    {
        var run = CliRun.Invoke("calibrate", "--model", "random:tiny", "--text", Text(), "--out", _temp.File("cal"), "--window", "64", "--factors", "0.5,1", "--ppl-budget", "1000");
        AssertSuccess(run);
        var policy = PolicySerializer.Load(_temp.File("cal/policy.json"));
        var sweep = _temp.Json("cal/calibrate.json").GetProperty("report").GetProperty("sweep");
        Assert.True(sweep.GetProperty("points").GetArrayLength() >= 4); // the 2×2 grid, then finer rounds around the leading point
        // Dense is a candidate (U = 0): the mechanisms stay on only if a point beat it, whatever the budget (issue 13).
        bool chosen = sweep.TryGetProperty("chosen", out var point) && point.ValueKind == System.Text.Json.JsonValueKind.Object;
        Assert.Equal(chosen ? "calibrated" : "calibrated-dense", policy.Name);
        Assert.Equal(chosen, policy.Halting.Enabled);
    }

    [Fact]
    public void AblateShowsTheCalibratedChoiceBesideTheBestInHindsight()
    {
        AssertSuccess(CliRun.Invoke("calibrate", "--model", "random:tiny", "--text", Text(), "--out", _temp.File("cal"), "--window", "64", "--factors", "0.5,1", "--ppl-budget", "1000"));
        var run = CliRun.Invoke("ablate", "--model", "random:tiny", "--text", _temp.WriteText("eval.txt", Texts.English + " Another evaluation sentence."), "--out", _temp.File("ablate"), "--runs", "1",
            "--timed-tokens", "32", "--max-tokens", "120", "--window", "64", "--stride", "64", "--policy", _temp.File("cal/policy.json"), "--sweep-report", _temp.File("cal/calibrate.json"));
        AssertSuccess(run);
        var hindsight = _temp.Json("ablate/ablate.json").GetProperty("hindsight").EnumerateArray().ToList();
        Assert.Equal(2, hindsight.Count);
        Assert.Equal("chosen on held-out calibration text", hindsight[0].GetProperty("label").GetString());
        Assert.Contains("hindsight", hindsight[1].GetProperty("label").GetString());
        // Hindsight picks the best on the evaluation text itself, so the choice can never beat it there.
        Assert.True(hindsight[1].GetProperty("utility").GetDouble() >= hindsight[0].GetProperty("utility").GetDouble() - 1e-12);
        Assert.Contains("best in hindsight on the evaluation text (not a usable choice)", File.ReadAllText(_temp.File("ablate/ablate.md")));
    }
}
