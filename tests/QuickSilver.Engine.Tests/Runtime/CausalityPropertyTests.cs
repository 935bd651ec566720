using CsCheck;
using QuickSilver.Engine.Evaluation;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using QuickSilver.Policies;
using QuickSilver.Testing;
using TorchSharp;
using Xunit.Abstractions;

namespace QuickSilver.Engine.Tests.Runtime;

/// <summary>
/// Causality as a property (issue 13): under any policy, two sequences that share a prefix give identical logits on
/// that prefix, and the evaluator's per-token scores equal scoring each target from its own prefix.
/// </summary>
public sealed class CausalityPropertyTests(ITestOutputHelper output)
{
    // Float noise only: the same row computed inside batches of different sizes differs by ~1e-6, and where 2-bit
    // quantization is on that noise can move one element across a rounding boundary. Over 80 random policies on
    // stories260K the largest difference is below 1e-3 nats. Real leaks measured 0.2 to 3.9 nats (issue 13); a
    // reintroduced all-queries maximum fails by more than a nat, a single query seeing later propagated K/V by 0.7.
    private const float LogitTolerance = 0.02f;
    private const double NllTolerance = 0.005;

    /// <summary>Random policies covering every mechanism and option, with thresholds loose enough that they fire.</summary>
    internal static readonly Gen<QuickSilverPolicy> Policies =
        from halting in Gen.Bool
        from driftMode in Gen.Enum<DriftMode>()
        from entropyMode in Gen.OneOf(Gen.Const(EntropySignalMode.Exact), Gen.Const(EntropySignalMode.DriftGated), Gen.Const(EntropySignalMode.Proxy))
        from haltEntropy in Gen.Double[0.5, 6]
        from kvSkip in Gen.Bool
        from kvMode in Gen.Enum<KvSkipMode>()
        from delay in Gen.Int[0, 1]
        from tauKv in Gen.OneOf(Gen.Const((float?)null), Gen.Float[0.05f, 0.6f].Select(f => (float?)f))
        from fusion in Gen.Bool
        from fuseDistance in Gen.Float[0.1f, 0.6f]
        from tauAttn in Gen.OneOf(Gen.Const((float?)null), Gen.Float[-0.2f, 0.4f].Select(f => (float?)f))
        from weighting in Gen.Enum<FusionWeighting>()
        from quantization in Gen.Bool
        from normalization in Gen.Enum<EntropyNormalization>()
        from activations in Gen.Bool
        from kv in Gen.Bool
        from groupSize in Gen.OneOf(Gen.Const(4), Gen.Const(8), Gen.Const(32))
        select new QuickSilverPolicy
        {
            Name = "random",
            Halting = new HaltingPolicy
            {
                Enabled = halting, DriftMode = driftMode, DriftThreshold = driftMode == DriftMode.Relative ? 0.9f : 50f,
                EntropyThreshold = (float)haltEntropy, EntropyMode = entropyMode, MinLayer = 1, ProxyTopK = 16,
            },
            KvSkip = new KvSkipPolicy { Enabled = kvSkip, Mode = kvMode, HaltingDelay = delay, AttentionThreshold = tauKv },
            Fusion = new FusionPolicy
            {
                Enabled = fusion, DistanceThreshold = fuseDistance, RelativeDistance = true, AttentionSimilarityThreshold = tauAttn,
                AttentionWindow = 4, Weighting = weighting, StartLayer = 1,
            },
            Quantization = new QuantizationPolicy
            {
                Enabled = quantization || !(halting || fusion), Normalization = normalization,
                LowThreshold = normalization == EntropyNormalization.None ? 2f : 0.3f, HighThreshold = normalization == EntropyNormalization.None ? 3.5f : 0.6f,
                QuantizeActivations = activations, QuantizeKv = kv || !activations, GroupSize = groupSize, DecisionLayer = 1,
                ProtectNumbers = false, RareTokenIdFraction = null,
            },
            Lexicons = new TokenLexicons { ProtectNegations = false, ProtectJsonStructure = false },
        };

    private static readonly Gen<(ModelConfig Config, int Seed)> Shapes =
        from layers in Gen.Int[2, 4]
        from kvHeads in Gen.Int[1, 2]
        from groups in Gen.Int[1, 2]
        from gpt2 in Gen.Bool
        from seed in Gen.Int[0, 1000]
        let heads = kvHeads * groups
        select (new ModelConfig
        {
            Architecture = gpt2 ? "gpt2" : "llama", VocabSize = 40, HiddenSize = heads * 8, NumLayers = layers,
            NumHeads = heads, NumKvHeads = gpt2 ? heads : kvHeads, HeadDim = 8, IntermediateSize = 24, MaxPositions = 40,
            Norm = gpt2 ? NormKind.LayerNorm : NormKind.RmsNorm, Positions = gpt2 ? PositionEncodingKind.Learned : PositionEncodingKind.Rotary,
            FeedForward = gpt2 ? FeedForwardKind.GeluTanh : FeedForwardKind.SwiGlu, AttentionBias = gpt2, MlpBias = gpt2, TiedEmbeddings = gpt2,
        }, seed);

    [Fact]
    public void Shared_prefixes_give_identical_logits_and_prefix_scores_on_random_shapes_and_policies()
    {
        long halted = 0, fused = 0, quantized = 0, dependent = 0;
        // Fixed draws: a flaky property is no gate. CsCheck generates them; change the seed to explore new cases locally.
        foreach (var (shape, policy) in Draw(Gen.Select(Shapes, Policies), 30, seed: 13))
        {
            using var model = TransformerModel.Create(RandomCheckpoint.Create(shape.Config, shape.Seed, 0.3f), torch.CPU);
            var runner = new ForwardRunner(model);
            var (a, b) = SharedPrefixPair(shape.Config.VocabSize, prefix: 14, total: 24, shape.Seed);
            var plan = new RoutingPlan(policy, shape.Config);
            var stats = new RuntimeStats();
            using (var probe = runner.Run(new ForwardInput { TokenIds = a, Plan = plan, AllLogits = true, Stats = stats }))
            {
                halted += stats.HaltedTokenLayers;
                fused += stats.FusedTokens;
                quantized += stats.Tokens2Bit + stats.Tokens4Bit;
                dependent += probe.DependsOnLater.Count(x => x) - probe.Absorbed.Count(x => x);
            }
            float shared = SharedPrefixDifference(runner, plan, a, b, 14);
            double scoring = PrefixScoringDifference(runner, plan, a);
            if (shared <= LogitTolerance && scoring <= NllTolerance) continue;
            Assert.Fail($"{shape.Config.NumLayers} layers, seed {shape.Seed}: shared-prefix logits {shared:G3}, prefix scoring {scoring:G3} nats; {System.Text.Json.JsonSerializer.Serialize(policy)}");
        }
        output.WriteLine($"halted token-layers {halted}, fused {fused}, 2/4-bit tokens {quantized}, positions inside non-adjacent pairs {dependent}");
        // The property is only worth something if the mechanisms fired.
        Assert.True(halted > 0 && fused > 0 && quantized > 0);
    }

    [Fact]
    public void Paper_and_random_policies_are_causal_on_stories260K_and_the_evaluator_equals_prefix_scoring()
    {
        using var model = LanguageModel.Load(SharedAssets.Stories260KBin);
        var ids = model.Tokenizer.Encode(File.ReadAllText(SharedAssets.TinyStoriesSample), addBos: true).Take(41).ToList();
        var evaluator = new PerplexityEvaluator(model);
        var lexicons = QuickSilverPolicy.Paper();
        lexicons.Name = "paper+phrases";
        lexicons.Lexicons.FullProcessing = ["once upon", "little girl", "the park"];
        lexicons.Lexicons.ForcedHalt = ["a time", "there was"];
        lexicons.Lexicons.ProtectJsonStructure = true;
        var policies = new List<QuickSilverPolicy> { QuickSilverPolicy.Paper(), lexicons };
        policies.AddRange(Draw(Policies, 10, seed: 7));
        foreach (var policy in policies)
        {
            var plan = new RoutingPlan(policy, model.Config);
            var sets = model.ResolveProtectedIds(plan, null);
            var result = evaluator.EvaluateTokens(ids, 40, 40, policy);
            double worst = 0;
            for (int t = 1; t < ids.Count; t++)
            {
                var prefix = ids.Take(t).ToList();
                using var o = model.Runner.Run(new ForwardInput { TokenIds = prefix, Plan = plan, Flags = sets.CausalFlagsFor(prefix) });
                using var logp = o.Logits.log_softmax(-1);
                worst = Math.Max(worst, Math.Abs(-logp[0, ids[t]].item<float>() - result.TokenNll[t - 1]));
            }
            output.WriteLine($"{System.Text.Json.JsonSerializer.Serialize(policy)}: max |evaluator − prefix| = {worst:G3} nats, rescored {result.RescoredAbsorbed}");
            Assert.True(worst <= NllTolerance, $"evaluator differs from prefix scoring by {worst} nats");

            var other = ids.Take(30).Concat(ids.Skip(30).Reverse()).ToList();
            float shared = SharedPrefixDifference(model.Runner, plan, ids, other, 30, sets);
            Assert.True(shared <= LogitTolerance, $"shared-prefix logits differ by {shared}");
        }
    }

    /// <summary>A fixed list of draws from <paramref name="gen"/>.</summary>
    internal static List<T> Draw<T>(Gen<T> gen, int count, ulong seed)
    {
        var pcg = new PCG(1, seed);
        return [.. Enumerable.Range(0, count).Select(_ => gen.Generate(pcg, null, out Size _))];
    }

    internal static (int[] A, int[] B) SharedPrefixPair(int vocab, int prefix, int total, int seed)
    {
        var a = TestModels.RandomTokens(total, vocab, seed);
        var b = a.Take(prefix).Concat(TestModels.RandomTokens(total - prefix, vocab, seed + 7919)).ToArray();
        return (a, b);
    }

    /// <summary>Largest logit difference between two runs over positions before <paramref name="shared"/> that neither run flags as depending on later tokens.</summary>
    internal static float SharedPrefixDifference(ForwardRunner runner, RoutingPlan plan, IReadOnlyList<int> a, IReadOnlyList<int> b, int shared, ProtectedTokenSets? sets = null)
    {
        using var oa = runner.Run(new ForwardInput { TokenIds = a, Plan = plan, Flags = sets?.CausalFlagsFor(a), AllLogits = true });
        using var ob = runner.Run(new ForwardInput { TokenIds = b, Plan = plan, Flags = sets?.CausalFlagsFor(b), AllLogits = true });
        float worst = 0;
        for (int i = 0; i < shared; i++)
        {
            if (oa.DependsOnLater[i] || ob.DependsOnLater[i]) continue;
            worst = Math.Max(worst, TestModels.MaxAbsDiff(TestModels.ToArray(oa.Logits[i]), TestModels.ToArray(ob.Logits[i])));
        }
        return worst;
    }

    /// <summary>Largest difference between the evaluator's rule (window rows, or a prefix pass where the row depends on later tokens) and scoring every target from its own prefix.</summary>
    internal static double PrefixScoringDifference(ForwardRunner runner, RoutingPlan plan, IReadOnlyList<int> ids)
    {
        using var window = runner.Run(new ForwardInput { TokenIds = ids, Plan = plan, AllLogits = true });
        using var logp = window.Logits.log_softmax(-1);
        double worst = 0;
        for (int t = 1; t < ids.Count; t++)
        {
            var prefix = ids.Take(t).ToList();
            using var o = runner.Run(new ForwardInput { TokenIds = prefix, Plan = plan });
            using var lp = o.Logits.log_softmax(-1);
            double gold = lp[0, ids[t]].item<float>();
            if (window.DependsOnLater[t - 1]) continue; // the evaluator runs exactly this prefix pass for such rows
            worst = Math.Max(worst, Math.Abs(gold - logp[t - 1, ids[t]].item<float>()));
        }
        return worst;
    }
}
