using QuickSilver.Engine.Evaluation;
using QuickSilver.Engine.Generation;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Generation;

public sealed class SamplerTests
{
    private static float[] Logits() => [0.1f, 2.0f, 1.5f, -1f, 1.9f, 0.3f];

    [Fact]
    public void Greedy_takes_the_argmax()
    {
        var sampler = new Sampler(new GenerationRequest(), []);
        Assert.Equal(1, sampler.Sample(Logits()));
    }

    [Fact]
    public void Same_seed_same_draws_and_top_k_one_is_greedy()
    {
        int[] Draw(long seed) { var s = new Sampler(new GenerationRequest { Temperature = 1.5f, Seed = seed }, []); return Enumerable.Range(0, 50).Select(_ => s.Sample(Logits())).ToArray(); }
        Assert.Equal(Draw(7), Draw(7));
        Assert.NotEqual(Draw(7), Draw(8));
        Assert.True(Draw(7).Distinct().Count() > 2); // it really samples
        var topOne = new Sampler(new GenerationRequest { Temperature = 2f, TopK = 1, Seed = 3 }, []);
        Assert.All(Enumerable.Range(0, 20), _ => Assert.Equal(1, topOne.Sample(Logits())));
    }

    [Fact]
    public void Top_p_keeps_only_the_nucleus()
    {
        // Probabilities at T=1: the top three (ids 1, 4, 2) hold ~0.82 of the mass.
        var sampler = new Sampler(new GenerationRequest { Temperature = 1f, TopP = 0.8f, Seed = 11 }, []);
        var seen = Enumerable.Range(0, 300).Select(_ => sampler.Sample(Logits())).ToHashSet();
        Assert.Subset(new HashSet<int> { 1, 2, 4 }, seen);
    }

    [Fact]
    public void Repetition_frequency_and_presence_penalties_move_logits_as_defined()
    {
        // CTRL repetition penalty divides positive logits of seen tokens: id 1 (2.0 / 4 = 0.5) loses to id 4 (1.9).
        Assert.Equal(4, new Sampler(new GenerationRequest { RepetitionPenalty = 4f }, [1]).Sample(Logits()));
        // Presence penalty applies only to generated tokens: after generating 1 once, 2.0 − 0.2 = 1.8 < 1.9.
        var presence = new Sampler(new GenerationRequest { PresencePenalty = 0.2f }, []);
        Assert.Equal(1, presence.Sample(Logits()));
        Assert.Equal(4, presence.Sample(Logits()));
        var frequency = new Sampler(new GenerationRequest { FrequencyPenalty = 0.06f }, []);
        Assert.Equal(1, frequency.Sample(Logits())); // 2.0
        Assert.Equal(1, frequency.Sample(Logits())); // 2.0 − 0.06 = 1.94 > 1.9
        Assert.Equal(4, frequency.Sample(Logits())); // 2.0 − 0.12 = 1.88 < 1.9
    }

    [Theory]
    [InlineData(nameof(GenerationRequest.Temperature))]
    [InlineData(nameof(GenerationRequest.TopP))]
    [InlineData(nameof(GenerationRequest.TopK))]
    [InlineData(nameof(GenerationRequest.RepetitionPenalty))]
    [InlineData(nameof(GenerationRequest.MaxNewTokens))]
    [InlineData(nameof(GenerationRequest.FrequencyPenalty))]
    public void Invalid_settings_name_the_setting(string setting)
    {
        var request = new GenerationRequest();
        switch (setting)
        {
            case nameof(GenerationRequest.Temperature): request.Temperature = float.PositiveInfinity; break;
            case nameof(GenerationRequest.TopP): request.TopP = 1.5f; break;
            case nameof(GenerationRequest.TopK): request.TopK = -1; break;
            case nameof(GenerationRequest.RepetitionPenalty): request.RepetitionPenalty = 0; break;
            case nameof(GenerationRequest.MaxNewTokens): request.MaxNewTokens = 0; break;
            case nameof(GenerationRequest.FrequencyPenalty): request.FrequencyPenalty = float.NaN; break;
        }
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Sampler.Validate(request));
        Assert.Equal(setting, error.ParamName);
    }
}

public sealed class PerplexityEvaluatorTests
{
    [Fact]
    public void Window_perplexity_matches_the_golden_teacher_forced_value()
    {
        using var model = LanguageModel.Load(SharedAssets.Stories260KBin);
        var ids = model.Tokenizer.Encode(File.ReadAllText(SharedAssets.TinyStoriesSample), addBos: true).Take(257).ToList();
        var result = new PerplexityEvaluator(model).EvaluateTokens(ids, 256, 256);
        Assert.Equal(256, result.ScoredTokens);
        Assert.Equal(3.99954, result.Perplexity, 3);
        Assert.Equal(1.386179, result.MeanNll, 4);
    }

    [Fact]
    public void Sliding_windows_score_every_token_once_and_more_context_helps()
    {
        using var model = LanguageModel.Load(SharedAssets.Stories260KBin);
        var evaluator = new PerplexityEvaluator(model);
        string path = SharedAssets.TinyStoriesSample;
        var disjoint = evaluator.EvaluateFile(path, 128, 128);
        var sliding = evaluator.EvaluateFile(path, 128, 32);
        Assert.Equal(1881, disjoint.ScoredTokens);
        Assert.Equal(1881, sliding.ScoredTokens);
        Assert.True(sliding.Perplexity < disjoint.Perplexity);
        Assert.True(sliding.TokensPerSecond > 0);
        Assert.Throws<FileNotFoundException>(() => evaluator.EvaluateFile("/nonexistent.txt", 128, 64));
        Assert.Throws<ArgumentOutOfRangeException>(() => evaluator.EvaluateFile(path, 128, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => evaluator.EvaluateFile(path, 4096, 64));
    }

    [Fact]
    public void Fusion_never_scores_absorbed_positions_from_merged_states()
    {
        using var model = LanguageModel.Load(SharedAssets.Stories260KBin);
        var policy = new QuickSilver.Policies.QuickSilverPolicy
        {
            Fusion = new QuickSilver.Policies.FusionPolicy { Enabled = true, DistanceThreshold = 1f, StartLayer = 2 },
            Lexicons = new QuickSilver.Policies.TokenLexicons { ProtectNegations = false, ProtectJsonStructure = false },
        };
        var ids = model.Tokenizer.Encode(File.ReadAllText(SharedAssets.TinyStoriesSample), addBos: true).Take(300).ToList();
        var result = new PerplexityEvaluator(model).EvaluateTokens(ids, 150, 150, policy);
        Assert.True(result.Stats.FusedTokens > 0);
        Assert.True(result.RescoredAbsorbed > 0);
        Assert.Equal(299, result.ScoredTokens);
        // Fusion approximates; it never makes the model better than dense, which would be the tell of a leak.
        var dense = new PerplexityEvaluator(model).EvaluateTokens(ids, 150, 150);
        Assert.True(result.Perplexity >= dense.Perplexity * 0.999);
    }

    [Fact]
    public void Fusion_evaluation_equals_scoring_every_target_from_its_own_prefix()
    {
        // The gold standard cannot leak: each target is predicted by the last position of a pass that never saw it.
        using var model = LanguageModel.Load(SharedAssets.Stories260KBin);
        var ids = model.Tokenizer.Encode(File.ReadAllText(SharedAssets.Path("data", "wikitext-2", "wiki.test.raw")), addBos: true).Take(81).ToList();
        var policy = new QuickSilver.Policies.QuickSilverPolicy
        {
            Fusion = new QuickSilver.Policies.FusionPolicy { Enabled = true, DistanceThreshold = 5.2f, RelativeDistance = false, StartLayer = 2 },
        };
        var result = new PerplexityEvaluator(model).EvaluateTokens(ids, 80, 80, policy);
        Assert.True(result.RescoredAbsorbed > 0);
        var plan = new QuickSilver.Engine.Runtime.RoutingPlan(policy, model.Config);
        var sets = model.ResolveProtectedIds(plan, null);
        double nll = 0;
        for (int t = 1; t < ids.Count; t++)
        {
            var prefix = ids.Take(t).ToList();
            using var output = model.Runner.Run(new QuickSilver.Engine.Runtime.ForwardInput { TokenIds = prefix, Plan = plan, Flags = sets.CausalFlagsFor(prefix) });
            using var logp = output.Logits.log_softmax(-1);
            nll -= logp[0, ids[t]].item<float>();
        }
        Assert.Equal(nll / (ids.Count - 1), result.MeanNll, 4);
    }
}
