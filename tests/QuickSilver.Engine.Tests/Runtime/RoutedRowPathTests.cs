using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using QuickSilver.Policies;
using TorchSharp;
using Xunit;

namespace QuickSilver.Engine.Tests.Runtime;

/// <summary>
/// Routed decode steps on host rows (policies that only assign weight widths): the same logits, widths and work
/// accounting as the tensor path, and the decision entropy a function of the logits alone.
/// </summary>
public sealed class RoutedRowPathTests
{
    private static readonly ModelConfig Config = new()
    {
        Architecture = "llama", VocabSize = 64, HiddenSize = 64, NumLayers = 3, NumHeads = 2, NumKvHeads = 1, HeadDim = 32,
        IntermediateSize = 128, MaxPositions = 40, Norm = NormKind.RmsNorm, Positions = PositionEncodingKind.Rotary, FeedForward = FeedForwardKind.SwiGlu,
    };

    private static QuickSilverPolicy Uniform(int bits, bool head) => new()
    {
        Name = $"{bits}-bit",
        Quantization = new QuantizationPolicy
        {
            Enabled = true, DecisionLayer = 1, LowBits = bits, MidBits = bits, HighBits = bits, QuantizeWeights = true, QuantizeHead = head,
            QuantizeActivations = false, QuantizeKv = false, ProtectNumbers = false, RareTokenIdFraction = null,
        },
    };

    private static TransformerModel PlaneModel(int seed) =>
        TransformerModel.Create(RandomCheckpoint.Create(Config, seed, 0.3f), torch.CPU, GgufTensorType.Q8_0, quantizeActivations: true, bitPlanes: true);

    [Theory]
    [InlineData(4, false)]
    [InlineData(2, true)]
    [InlineData(8, false)]
    public void Row_steps_match_tensor_steps_with_the_same_widths_and_accounting(int bits, bool head)
    {
        using var model = PlaneModel(bits);
        using var noGrad = torch.no_grad();
        var rows = new ForwardRunner(model);
        var tensors = new ForwardRunner(model) { DecodeRowPath = false };
        var plan = new RoutingPlan(Uniform(bits, head), Config);
        using var rowCache = new KvCache(Config, 24, torch.CPU);
        using var tensorCache = new KvCache(Config, 24, torch.CPU);
        var prompt = TestModels.RandomTokens(6, Config.VocabSize, 4);
        using (rows.Run(new ForwardInput { TokenIds = prompt, Cache = rowCache, Plan = plan })) { }
        using (tensors.Run(new ForwardInput { TokenIds = prompt, Cache = tensorCache, Plan = plan })) { }
        var next = TestModels.RandomTokens(8, Config.VocabSize, 5);
        for (int i = 0; i < next.Length; i++)
        {
            var (rowStats, tensorStats) = (new RuntimeStats(), new RuntimeStats());
            var (rowTrace, tensorTrace) = (new TokenTrace(1, Config.NumLayers, 6 + i), new TokenTrace(1, Config.NumLayers, 6 + i));
            using var a = rows.Run(new ForwardInput { TokenIds = [next[i]], StartPosition = 6 + i, Cache = rowCache, Plan = plan, Stats = rowStats, Trace = rowTrace });
            using var b = tensors.Run(new ForwardInput { TokenIds = [next[i]], StartPosition = 6 + i, Cache = tensorCache, Plan = plan, Stats = tensorStats, Trace = tensorTrace });
            float[] x = TestModels.ToArray(a.Logits), y = TestModels.ToArray(b.Logits);
            Assert.True(TestModels.MaxAbsDiff(x, y) <= 2e-4f * Math.Max(1, y.Max(Math.Abs)), $"step {i}: max |Δ| {TestModels.MaxAbsDiff(x, y)}");
            Assert.Equal(tensorTrace.Bits, rowTrace.Bits);
            Assert.Equal(1, tensorStats.Tokens8Bit + tensorStats.Tokens4Bit + tensorStats.Tokens2Bit);
            (long, long, long, long, long) Counts(RuntimeStats s) => (s.Tokens8Bit, s.Tokens4Bit, s.Tokens2Bit, s.KvWrites, s.ActiveTokenLayers);
            Assert.Equal(Counts(tensorStats), Counts(rowStats));
            Assert.Equal(tensorStats.ActivePerLayer, rowStats.ActivePerLayer);
            foreach (var (r, t) in new[] { (rowStats.DenseFlops, tensorStats.DenseFlops), (rowStats.LayerFlops, tensorStats.LayerFlops), (rowStats.BetaWeightedFlops, tensorStats.BetaWeightedFlops) })
                Assert.Equal(t, r, 6);
        }
    }

    [Fact]
    public void The_entropy_is_the_softmax_entropy_on_ragged_lengths()
    {
        var random = new Random(3);
        foreach (int n in new[] { 1, 7, 8, 9, 64, 100, 1003 })
        {
            var logits = new float[n];
            for (int i = 0; i < n; i++) logits[i] = (float)((random.NextDouble() * 12) - 6);
            double max = logits.Max(), z = logits.Sum(v => Math.Exp(v - max));
            double expected = -logits.Sum(v => Math.Exp(v - max) / z * ((v - max) - Math.Log(z)));
            Assert.Equal(expected, ForwardRunner.Entropy(logits), 4);
        }
        Assert.Equal(Math.Log(16), ForwardRunner.Entropy(new float[16]), 5);
        Assert.Equal(0, ForwardRunner.Entropy([float.NegativeInfinity, 3f, float.NegativeInfinity]), 6);
    }
}
