using QuickSilver.Engine.Models;
using QuickSilver.Engine.Tests.Architectures;
using QuickSilver.Engine.Runtime;
using QuickSilver.Policies;
using TorchSharp;

namespace QuickSilver.Engine.Tests.Runtime;

public sealed class RouterTests
{
    /// <summary>Every supported family: each mechanism must keep working on each.</summary>
    public static TheoryData<string> Families() => TinyFamilies.Names();

    public static TheoryData<string, int> FamiliesAndDepths()
    {
        var data = new TheoryData<string, int>();
        foreach (string family in TinyFamilies.Names())
            foreach (int k in new[] { 1, 2, 3 }) data.Add(family, k);
        return data;
    }

    private static QuickSilverPolicy NeverFires(int layers) => new()
    {
        Name = "never",
        Halting = new HaltingPolicy { Enabled = true, DriftThreshold = 0, EntropyThreshold = 0, EntropyMode = EntropySignalMode.Exact, MinLayer = 1 },
        KvSkip = new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip, AttentionThreshold = 0.5f },
        Fusion = new FusionPolicy { Enabled = true, DistanceThreshold = 0, StartLayer = 1 },
        Quantization = new QuantizationPolicy { Enabled = true, DecisionLayer = layers, LowThreshold = 0.3f, HighThreshold = 0.6f },
    };

    private static QuickSilverPolicy AlwaysFires(int minLayer) => new()
    {
        Name = "always",
        Halting = new HaltingPolicy { Enabled = true, DriftThreshold = 1e9f, EntropyThreshold = 1e9f, EntropyMode = EntropySignalMode.Exact, MinLayer = minLayer },
        KvSkip = new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip },
        Fusion = new FusionPolicy { Enabled = true, DistanceThreshold = 1e9f, StartLayer = 1 },
    };

    [Theory]
    [MemberData(nameof(RouterTests.Families), MemberType = typeof(RouterTests))]
    public void Every_mechanism_on_with_thresholds_that_never_fire_equals_dense(string family)
    {
        var config = TinyFamilies.Config(family);
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        var tokens = TestModels.RandomTokens(30, config.VocabSize, 11);
        using var dense = runner.Run(new ForwardInput { TokenIds = tokens, AllLogits = true });
        var stats = new RuntimeStats();
        using var cache = new KvCache(config, 64, torch.CPU);
        using var routed = runner.Run(new ForwardInput
        {
            TokenIds = tokens, AllLogits = true, Cache = cache, Plan = new RoutingPlan(NeverFires(config.NumLayers), config), Stats = stats,
        });
        // The routed pass attends with the explicit-probability kernel (it needs the attention maxima), dense with SDPA: the
        // two differ by float rounding only. Measured max |Δ| over the families: 0–8.2e-6 with libtorch norms; phi4-mini
        // (longrope, attention factor 1.2) reaches 1.7e-5 since prefill norms and SiLU run on the row kernels. A wrong
        // mechanism shows as O(1).
        float diff = TestModels.MaxAbsDiff(TestModels.ToArray(dense.Logits), TestModels.ToArray(routed.Logits));
        Assert.True(diff < 3e-5f, $"{family}: max |dense − routed| = {diff}");
        Assert.Equal(0, stats.HaltedTokenLayers);
        Assert.Equal(0, stats.FusedTokens);
        Assert.Equal(30L * config.NumLayers, stats.ActiveTokenLayers);
        Assert.True(stats.RouterFlops > 0); // the signals were computed, and counted
    }

    [Theory]
    [MemberData(nameof(FamiliesAndDepths))]
    public void Forcing_every_token_to_halt_at_k_equals_the_model_cut_at_k(string family, int k)
    {
        var config = TinyFamilies.Config(family);
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        var tokens = TestModels.RandomTokens(20, config.VocabSize, 12);
        var policy = NeverFires(config.NumLayers);
        policy.Halting.MinLayer = k;
        policy.KvSkip.AttentionThreshold = null; // plain skipping: no relevance exception
        var flags = new TokenFlags(tokens.Length);
        Array.Fill(flags.ForcedHalt, true);
        var stats = new RuntimeStats();
        using var cache = new KvCache(config, 64, torch.CPU);
        using var routed = runner.Run(new ForwardInput
        {
            TokenIds = tokens, Cache = cache, Plan = new RoutingPlan(policy, config), Flags = flags, ReturnHidden = true, Stats = stats,
        });

        using var scope = torch.NewDisposeScope();
        var positions = TensorScalars.Range(tokens.Length, torch.int64);
        var h = model.Embed(torch.tensor(tokens.Select(x => (long)x).ToArray(), [1, tokens.Length], torch.int64), positions);
        for (int l = 0; l < k; l++) h = model.Blocks[l].Forward(new BlockInput { Hidden = h, Positions = positions, FirstPosition = 0 }).Hidden;
        Assert.True(TestModels.MaxAbsDiff(TestModels.ToArray(h), TestModels.ToArray(routed.Hidden!)) < 1e-5f);
        Assert.Equal(20L * k, stats.ActiveTokenLayers);
        Assert.Equal(Enumerable.Range(0, config.NumLayers).Select(l => l < k ? 20L : 0L), stats.ActivePerLayer);
        Assert.Equal(20L * (config.NumLayers - k), stats.HaltedTokenLayers);
        for (int l = 0; l < config.NumLayers; l++) Assert.Equal(l < k ? 20 : 0, cache[l].Count); // KV skipping: no deeper writes
        Assert.True(stats.ActualFlops < stats.DenseFlops);
    }

    [Theory]
    [MemberData(nameof(RouterTests.Families), MemberType = typeof(RouterTests))]
    public void Protected_tokens_never_halt_or_fuse(string family)
    {
        var config = TinyFamilies.Config(family);
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        var tokens = TestModels.RandomTokens(24, config.VocabSize, 13);
        var flags = new TokenFlags(tokens.Length);
        foreach (int i in new[] { 0, 5, 6, 11, 23 }) flags.FullProcessing[i] = true;
        var trace = new TokenTrace(tokens.Length, config.NumLayers, 0);
        using var cache = new KvCache(config, 64, torch.CPU);
        using var output = runner.Run(new ForwardInput
        {
            TokenIds = tokens, Cache = cache, Plan = new RoutingPlan(AlwaysFires(1), config), Flags = flags, Trace = trace,
        });
        int haltedOrFused = 0;
        for (int i = 0; i < tokens.Length; i++)
        {
            if (flags.FullProcessing[i])
            {
                Assert.Equal(-1, trace.HaltLayer[i]);
                Assert.Equal(-1, trace.FusedInto[i]);
                for (int l = 0; l < config.NumLayers; l++) Assert.True(trace.KvWritten[i, l]);
            }
            else if (trace.HaltLayer[i] >= 0 || trace.FusedInto[i] >= 0) haltedOrFused++;
        }
        Assert.Equal(tokens.Length - 5, haltedOrFused); // everything else did stop early: the thresholds really fire
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fusion_lowers_the_active_count_and_never_leaks_a_later_token_into_an_earlier_prediction(bool attentionSimilarity)
    {
        var config = TestModels.TinyGpt2(layers: 4);
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        var policy = new QuickSilverPolicy
        {
            Fusion = new FusionPolicy
            {
                Enabled = true, DistanceThreshold = 1e9f, StartLayer = 1,
                AttentionSimilarityThreshold = attentionSimilarity ? -1f : null, AttentionWindow = 4,
            },
        };
        var plan = new RoutingPlan(policy, config);
        var a = TestModels.RandomTokens(16, config.VocabSize, 21);
        for (int j = 1; j < a.Length; j++)
        {
            var b = (int[])a.Clone();
            b[j] = (a[j] + 7) % config.VocabSize;
            var statsA = new RuntimeStats();
            using var outA = runner.Run(new ForwardInput { TokenIds = a, Plan = plan, AllLogits = true, Stats = statsA });
            using var outB = runner.Run(new ForwardInput { TokenIds = b, Plan = plan, AllLogits = true });
            Assert.True(statsA.FusedTokens > 0);
            Assert.True(statsA.ActiveTokenLayers < a.Length * config.NumLayers);
            var la = TestModels.ToArray(outA.Logits);
            var lb = TestModels.ToArray(outB.Logits);
            int v = config.VocabSize;
            for (int i = 0; i < j; i++)
            {
                // An absorbed position's logits depend on its fusion partner, i.e. on the next token: they are flagged, never scored.
                if (outA.Absorbed[i] || outB.Absorbed[i]) continue;
                Assert.True(TestModels.MaxAbsDiff(la[(i * v)..((i + 1) * v)], lb[(i * v)..((i + 1) * v)]) < 1e-5f, $"position {i} changed when token {j} changed");
            }
        }
    }

    [Fact]
    public void Attention_similarity_fuses_non_adjacent_tokens_too()
    {
        var config = TestModels.TinyGpt2(layers: 4);
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        var tokens = TestModels.RandomTokens(24, config.VocabSize, 61);
        long Fused(float? tauAttn)
        {
            var policy = new QuickSilverPolicy { Fusion = new FusionPolicy { Enabled = true, DistanceThreshold = 1e9f, StartLayer = 1, AttentionSimilarityThreshold = tauAttn, AttentionWindow = 6 } };
            var trace = new TokenTrace(tokens.Length, config.NumLayers, 0);
            var stats = new RuntimeStats();
            using var output = runner.Run(new ForwardInput { TokenIds = tokens, Plan = new RoutingPlan(policy, config), Stats = stats, Trace = trace });
            if (tauAttn < 0) Assert.Contains(Enumerable.Range(0, tokens.Length), i => trace.FusedInto[i] > i + 1); // a non-adjacent partner
            return stats.FusedTokens;
        }
        Assert.True(Fused(-1f) >= Fused(null));
        Assert.Equal(Fused(null), Fused(1f)); // a cosine never exceeds 1: the criterion adds nothing
    }

    [Theory]
    [MemberData(nameof(RouterTests.Families), MemberType = typeof(RouterTests))]
    public void Kv_skipping_honours_delay_and_the_attention_relevance_criterion(string family)
    {
        var config = TinyFamilies.Config(family, layers: 4);
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        var tokens = TestModels.RandomTokens(12, config.VocabSize, 31);
        var flags = new TokenFlags(tokens.Length);
        flags.ForcedHalt[3] = true;
        flags.ForcedHalt[7] = true;

        int[] WrittenCounts(KvSkipPolicy kv)
        {
            var policy = NeverFires(config.NumLayers);
            policy.Halting.MinLayer = 1;
            policy.KvSkip = kv;
            policy.Fusion.Enabled = false;
            using var cache = new KvCache(config, 32, torch.CPU);
            using var output = runner.Run(new ForwardInput { TokenIds = tokens, Cache = cache, Plan = new RoutingPlan(policy, config), Flags = flags });
            return Enumerable.Range(0, config.NumLayers).Select(l => cache[l].Count).ToArray();
        }

        Assert.Equal([12, 10, 10, 10], WrittenCounts(new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip }));
        Assert.Equal([12, 12, 10, 10], WrittenCounts(new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip, HaltingDelay = 1 }));
        Assert.Equal([12, 12, 12, 12], WrittenCounts(new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Propagate }));
        Assert.Equal([12, 12, 12, 12], WrittenCounts(new KvSkipPolicy { Enabled = false }));
        // τ_kv = 0: every token received some attention, so none is irrelevant enough to skip.
        Assert.Equal([12, 12, 12, 12], WrittenCounts(new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip, AttentionThreshold = 0f }));
        // τ_kv = 1: only a token that took all of some query's attention would be kept; these two did not.
        Assert.Equal([12, 10, 10, 10], WrittenCounts(new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip, AttentionThreshold = 1f }));
    }

    [Theory]
    [MemberData(nameof(RouterTests.Families), MemberType = typeof(RouterTests))]
    public void Propagated_kv_of_halted_tokens_equals_recomputing_them_from_the_frozen_state(string family)
    {
        // Halting at k with propagation must give the later (non-halted) tokens exactly what a model sees when the
        // halted tokens' K/V at layers ≥ k are computed from their layer-k states.
        var config = TinyFamilies.Config(family, layers: 3);
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        var tokens = TestModels.RandomTokens(10, config.VocabSize, 41);
        var policy = NeverFires(config.NumLayers);
        policy.Halting.MinLayer = 1;
        policy.KvSkip = new KvSkipPolicy { Enabled = false };
        var flags = new TokenFlags(tokens.Length);
        flags.ForcedHalt[2] = true;
        using var cache = new KvCache(config, 32, torch.CPU);
        using var routed = runner.Run(new ForwardInput { TokenIds = tokens, Cache = cache, Plan = new RoutingPlan(policy, config), Flags = flags, AllLogits = true });
        // The halted token's own logits come from its layer-1 state; every other position's from full depth.
        using var dense = runner.Run(new ForwardInput { TokenIds = tokens, AllLogits = true });
        var r = TestModels.ToArray(routed.Logits);
        var d = TestModels.ToArray(dense.Logits);
        int v = config.VocabSize;
        Assert.True(TestModels.MaxAbsDiff(r[..(2 * v)], d[..(2 * v)]) < 1e-5f); // before the halted token: unchanged
        Assert.True(TestModels.MaxAbsDiff(r[(2 * v)..(3 * v)], d[(2 * v)..(3 * v)]) > 1e-4f); // the halted token: changed
        Assert.Equal(10, cache[2].Count);
    }

    [Fact]
    public void The_override_mask_forces_eight_bits()
    {
        var config = TestModels.TinyLlama(layers: 4);
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        var tokens = TestModels.RandomTokens(16, config.VocabSize, 51);
        var policy = new QuickSilverPolicy
        {
            Quantization = new QuantizationPolicy { Enabled = true, DecisionLayer = 2, Normalization = EntropyNormalization.None, LowThreshold = 1e6f, HighThreshold = 1e6f, RareTokenIdFraction = null, ProtectNumbers = false },
        };
        var flags = new TokenFlags(tokens.Length);
        foreach (int i in new[] { 1, 4, 9 }) flags.QuantizationOverride[i] = true;
        var trace = new TokenTrace(tokens.Length, config.NumLayers, 0);
        var stats = new RuntimeStats();
        using var output = runner.Run(new ForwardInput { TokenIds = tokens, Plan = new RoutingPlan(policy, config), Flags = flags, Trace = trace, Stats = stats, AllLogits = true });
        for (int i = 0; i < tokens.Length; i++) Assert.Equal(flags.QuantizationOverride[i] ? 8 : 2, trace.Bits[i]);
        Assert.Equal(3, stats.Tokens8Bit);
        Assert.Equal(13, stats.Tokens2Bit);
        // Paper's β-weighted FLOPs: the two layers after the decision run at mean β = (3·1 + 13·0.25) / 16.
        double perLayer = stats.LayerFlops / config.NumLayers;
        Assert.Equal(perLayer * (2 + 2 * (3 + 13 * 0.25) / 16), stats.BetaWeightedFlops, 6);
        using var dense = runner.Run(new ForwardInput { TokenIds = tokens, AllLogits = true });
        Assert.True(TestModels.MaxAbsDiff(TestModels.ToArray(dense.Logits), TestModels.ToArray(output.Logits)) > 1e-4f); // 2-bit activations do change the result
    }

    [Theory]
    [InlineData(8)]
    [InlineData(4)]
    [InlineData(2)]
    public void Group_quantization_round_trips_within_half_a_step(int bits)
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(6, 64, generator: new torch.Generator(7));
        var q = GroupQuantizer.FakeQuantize(x, bits, 16);
        var groups = x.reshape(6, 4, 16);
        var range = (groups.amax([-1]) - groups.amin([-1])).unsqueeze(-1); // (6, 4, 1)
        var bound = TensorScalars.Plus(TensorScalars.DividedBy(TensorScalars.DividedBy(range, (1 << bits) - 1), 2), 1e-6);
        var error = (q - x).abs().reshape(6, 4, 16);
        Assert.True((error <= bound).all().item<bool>());
        Assert.True(error.max().item<float>() > 0); // it is lossy
    }
}

public sealed class SemanticDriftTests
{
    [Fact]
    public void Drift_index_is_zero_when_nothing_fires_and_positive_where_tokens_halted()
    {
        var config = TestModels.TinyLlama();
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        var tokens = TestModels.RandomTokens(12, config.VocabSize, 71);
        var none = new QuickSilverPolicy { Halting = new HaltingPolicy { Enabled = true, DriftThreshold = 0, EntropyThreshold = 0, MinLayer = 1 } };
        Assert.All(SemanticDrift.Measure(runner, tokens, new RoutingPlan(none, config)), d => Assert.True(d < 1e-4f));

        var flags = new TokenFlags(tokens.Length);
        flags.ForcedHalt[4] = true;
        var trace = new TokenTrace(tokens.Length, config.NumLayers, 0);
        var drift = SemanticDrift.Measure(runner, tokens, new RoutingPlan(none, config), flags, trace);
        Assert.Same(drift, trace.SemanticDrift);
        Assert.All(drift[..4], d => Assert.True(d < 1e-4f)); // earlier tokens cannot see the change (kernel rounding only)
        Assert.True(drift[4] > 1e-3f);
    }
}

public sealed class StandAloneRoutedPassTests
{
    [Theory]
    [MemberData(nameof(RouterTests.Families), MemberType = typeof(RouterTests))]
    public void A_routed_pass_without_a_cache_equals_one_with_a_cache(string family)
    {
        var config = TinyFamilies.Config(family);
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        var tokens = TestModels.RandomTokens(18, config.VocabSize, 81);
        var policy = new QuickSilverPolicy
        {
            Halting = new HaltingPolicy { Enabled = true, DriftThreshold = 0, EntropyThreshold = 0, MinLayer = 1 },
            KvSkip = new KvSkipPolicy { Enabled = false },
            Quantization = new QuantizationPolicy { Enabled = true, DecisionLayer = 2, Normalization = EntropyNormalization.None, LowThreshold = 0, HighThreshold = 0, RareTokenIdFraction = null, ProtectNumbers = false },
        };
        var flags = new TokenFlags(tokens.Length);
        flags.ForcedHalt[3] = flags.ForcedHalt[9] = true;
        var plan = new RoutingPlan(policy, config);
        using var cache = new KvCache(config, 32, torch.CPU);
        using var withCache = runner.Run(new ForwardInput { TokenIds = tokens, Cache = cache, Plan = plan, Flags = flags, AllLogits = true });
        var stats = new RuntimeStats();
        using var standAlone = runner.Run(new ForwardInput { TokenIds = tokens, Plan = plan, Flags = flags, AllLogits = true, Stats = stats });
        Assert.True(TestModels.MaxAbsDiff(TestModels.ToArray(withCache.Logits), TestModels.ToArray(standAlone.Logits)) < 1e-6f);
        Assert.Equal(cache.UsedBytes, stats.KvBytes);
        Assert.True(stats.KvBytes < stats.DenseKvBytes); // 8-bit packed entries from the decision layer on
    }
}

public sealed class RetentionAndFusionWeightingTests
{
    [Theory]
    [MemberData(nameof(RouterTests.Families), MemberType = typeof(RouterTests))]
    public void Forced_retention_keeps_a_halted_token_writing_kv(string family)
    {
        var config = TinyFamilies.Config(family, layers: 4);
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        var tokens = TestModels.RandomTokens(10, config.VocabSize, 91);
        var policy = new QuickSilverPolicy
        {
            Halting = new HaltingPolicy { Enabled = true, DriftThreshold = 0, EntropyThreshold = 0, MinLayer = 1 },
            KvSkip = new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip },
        };
        var flags = new TokenFlags(tokens.Length);
        flags.ForcedHalt[2] = flags.ForcedHalt[5] = true;
        flags.RetainKv[5] = true;
        using var cache = new KvCache(config, 16, torch.CPU);
        using var output = runner.Run(new ForwardInput { TokenIds = tokens, Cache = cache, Plan = new RoutingPlan(policy, config), Flags = flags });
        for (int l = 1; l < config.NumLayers; l++)
        {
            Assert.False(cache.IsWritten(l, 2)); // skipped
            Assert.True(cache.IsWritten(l, 5));  // halted, but retained
        }
    }

    [Fact]
    public void Retention_lexicon_resolves_to_positions()
    {
        using var model = LanguageModel.Load(QuickSilver.Testing.SharedAssets.Stories260KBin);
        var policy = QuickSilverPolicy.Safe();
        policy.Lexicons.ForcedRetention.Add("Lily");
        var ids = model.Tokenizer.Encode("Once upon a time there was a girl named Lily.", addBos: true);
        var flags = model.ResolveProtectedIds(new RoutingPlan(policy, model.Config), null).FlagsFor(ids);
        var texts = ids.Select(id => model.Tokenizer.Decode([id])).ToList();
        Assert.Contains(Enumerable.Range(0, ids.Count), i => flags.RetainKv[i]);
        Assert.All(Enumerable.Range(0, ids.Count).Where(i => flags.RetainKv[i]), i => Assert.Contains(texts[i].Trim(), "Lily"));
    }

    [Fact]
    public void Attention_weighting_differs_from_uniform_and_exempt_tokens_never_fuse()
    {
        var config = TestModels.TinyGpt2(layers: 3);
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        var tokens = TestModels.RandomTokens(12, config.VocabSize, 93);
        float[] Run(FusionWeighting weighting, TokenFlags? flags = null, TokenTrace? trace = null)
        {
            var policy = new QuickSilverPolicy { Fusion = new FusionPolicy { Enabled = true, DistanceThreshold = 1e9f, StartLayer = 1, Weighting = weighting } };
            using var output = runner.Run(new ForwardInput { TokenIds = tokens, Plan = new RoutingPlan(policy, config), Flags = flags, Trace = trace, AllLogits = true });
            return TestModels.ToArray(output.Logits);
        }
        Assert.True(TestModels.MaxAbsDiff(Run(FusionWeighting.Uniform), Run(FusionWeighting.Attention)) > 1e-5f);

        var exempt = new TokenFlags(tokens.Length);
        exempt.QuantizationOverride[4] = true; // a number or rare token
        var trace = new TokenTrace(tokens.Length, config.NumLayers, 0);
        Run(FusionWeighting.Uniform, exempt, trace);
        Assert.Equal(-1, trace.FusedInto[4]);
        Assert.DoesNotContain(4, trace.FusedInto);
    }
}
