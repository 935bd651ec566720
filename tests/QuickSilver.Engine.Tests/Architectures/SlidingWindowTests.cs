using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using QuickSilver.Policies;
using TorchSharp;
using QuickSilver.Testing.Conformance;

namespace QuickSilver.Engine.Tests.Architectures;

/// <summary>Sliding-window attention is applied in prefill, in cached decode and under the router, and it matters.</summary>
public sealed class SlidingWindowTests
{
    private const int Window = 8;

    private static ModelConfig Windowed(int layers = 3) => TinyArchitectures.Base("mistral") with { NumLayers = layers, SlidingWindow = Window };

    [Fact]
    public void One_windowed_layer_equals_attending_only_the_last_w_tokens()
    {
        ModelConfig config = Windowed(layers: 1);
        using TransformerModel model = TestModels.Create(config);
        int[] tokens = TestModels.RandomTokens(30, config.VocabSize, 3);
        using ForwardOutput full = new ForwardRunner(model).Run(new ForwardInput { TokenIds = tokens, AllLogits = true });
        float[] fullLogits = TestModels.ToArray(full.Logits);

        using var scope = torch.NewDisposeScope();
        for (int t = Window; t < tokens.Length; t += 5)
        {
            int first = t - Window + 1;
            var positions = TensorScalars.Range(first, t + 1, torch.int64);
            var ids = torch.tensor(tokens[first..(t + 1)].Select(x => (long)x).ToArray(), [1, Window], torch.int64);
            var h = model.Blocks[0].Forward(new BlockInput { Hidden = model.Embed(ids, positions), Positions = positions }).Hidden;
            float[] last = TestModels.ToArray(model.Logits(h).select(1, Window - 1).squeeze(0));
            float[] expected = fullLogits.AsSpan(t * config.VocabSize, config.VocabSize).ToArray();
            Assert.True(TestModels.MaxAbsDiff(expected, last) < 1e-5f, $"position {t}");
        }
    }

    [Fact]
    public void The_window_changes_logits_only_after_w_positions()
    {
        ModelConfig windowed = Windowed();
        int[] tokens = TestModels.RandomTokens(24, windowed.VocabSize, 4);
        float[] with = Run(windowed, tokens), without = Run(windowed with { SlidingWindow = 0 }, tokens);
        int v = windowed.VocabSize;
        Assert.True(TestModels.MaxAbsDiff(with[..(Window * v)], without[..(Window * v)]) < 1e-5f);
        Assert.True(TestModels.MaxAbsDiff(with[(Window * v)..], without[(Window * v)..]) > 1e-3f);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void Cached_decode_in_chunks_equals_one_prefill(int chunk)
    {
        ModelConfig config = Windowed();
        using TransformerModel model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        int[] tokens = TestModels.RandomTokens(26, config.VocabSize, 5);
        using ForwardOutput full = runner.Run(new ForwardInput { TokenIds = tokens, AllLogits = true });
        float[] expected = TestModels.ToArray(full.Logits);

        using var cache = new KvCache(config, 64, torch.CPU);
        var pieces = new List<float>();
        for (int start = 0; start < tokens.Length; start += chunk)
        {
            int[] part = tokens[start..Math.Min(tokens.Length, start + chunk)];
            using ForwardOutput step = runner.Run(new ForwardInput { TokenIds = part, StartPosition = start, Cache = cache, AllLogits = true });
            pieces.AddRange(TestModels.ToArray(step.Logits));
        }
        Assert.True(TestModels.MaxAbsDiff(expected, [.. pieces]) < 1e-4f);
    }

    [Fact]
    public void Routed_pass_with_thresholds_that_never_fire_equals_dense_with_a_window()
    {
        ModelConfig config = Windowed(layers: 4);
        using TransformerModel model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        int[] tokens = TestModels.RandomTokens(30, config.VocabSize, 6);
        using ForwardOutput dense = runner.Run(new ForwardInput { TokenIds = tokens, AllLogits = true });
        var policy = new QuickSilverPolicy
        {
            Name = "never",
            Halting = new HaltingPolicy { Enabled = true, DriftThreshold = 0, EntropyThreshold = 0, EntropyMode = EntropySignalMode.Exact, MinLayer = 1 },
            KvSkip = new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip, AttentionThreshold = 0.5f },
            Fusion = new FusionPolicy { Enabled = true, DistanceThreshold = 0, StartLayer = 1 },
        };
        using var cache = new KvCache(config, 64, torch.CPU);
        using ForwardOutput routed = runner.Run(new ForwardInput
        {
            TokenIds = tokens, AllLogits = true, Cache = cache, Plan = new RoutingPlan(policy, config),
        });
        float[] d = TestModels.ToArray(dense.Logits), r = TestModels.ToArray(routed.Logits);
        float delta = TestModels.MaxAbsDiff(d, r);
        Assert.True(delta < 1e-5f * Math.Max(1f, d.Max(Math.Abs)), $"routed vs dense {delta}, max |logit| {d.Max(Math.Abs)}");
    }

    private static float[] Run(ModelConfig config, int[] tokens)
    {
        using TransformerModel model = TestModels.Create(config);
        using ForwardOutput output = new ForwardRunner(model).Run(new ForwardInput { TokenIds = tokens, AllLogits = true });
        return TestModels.ToArray(output.Logits);
    }
}
