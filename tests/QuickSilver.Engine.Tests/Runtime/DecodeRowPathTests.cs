using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using QuickSilver.Engine.Tests.Architectures;
using TorchSharp;

namespace QuickSilver.Engine.Tests.Runtime;

/// <summary>
/// The dense decode step on host rows against the tensor path, on every architecture variant (norms, q/k norms, biases,
/// partial and scaled rotary, sliding windows, soft-caps, learned positions, GELU and GeGLU MLPs) and on packed weights:
/// same logits to float rounding at every step, and the cache it leaves behind serves the tensor path alike.
/// </summary>
public sealed class DecodeRowPathTests
{
    public static TheoryData<string> Architectures()
    {
        var data = new TheoryData<string>();
        foreach (var c in TinyArchitectures.All) data.Add(c.Name);
        // The hand-built GPT-2 of TestModels beside the conformance case of the same architecture (a distinct name, or
        // xUnit drops one of the two as a duplicate case).
        data.Add(TestModelsGpt2);
        return data;
    }

    private const string TestModelsGpt2 = "gpt2 (TestModels)";

    private static ModelConfig ConfigOf(string name) => name == TestModelsGpt2 ? TestModels.TinyGpt2() : TinyArchitectures.ByName(name).Config;

    private static CheckpointData WeightsOf(string name) =>
        name == TestModelsGpt2 ? RandomCheckpoint.Create(TestModels.TinyGpt2(), 3, 0.3f) : TinyArchitectures.ByName(name).Weights();

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Row_steps_match_tensor_steps(string architecture)
    {
        using var model = TransformerModel.Create(WeightsOf(architecture), torch.CPU);
        Assert.True(model.SupportsRows);
        AssertSameSteps(model, ConfigOf(architecture).VocabSize, steps: 12);
    }

    [Theory]
    [InlineData(GgufTensorType.Q8_0, true)]
    [InlineData(GgufTensorType.Q4_0, true)]
    [InlineData(GgufTensorType.Q8_0, false)]
    public void Row_steps_match_tensor_steps_on_packed_weights(GgufTensorType type, bool quantizeActivations)
    {
        using var model = TransformerModel.Create(TinyArchitectures.Llama2.Weights(), torch.CPU, type, quantizeActivations);
        Assert.Contains(model.Matrices, m => m is PackedLinearWeight);
        AssertSameSteps(model, model.Config.VocabSize, steps: 6);
    }

    [Fact]
    public void Routed_and_multi_token_passes_keep_the_tensor_path()
    {
        using var model = TestModels.Create(TestModels.TinyLlama(2));
        var runner = new ForwardRunner(model);
        using var cache = new KvCache(model.Config, 16, torch.CPU);
        using (torch.no_grad())
        using (runner.Run(new ForwardInput { TokenIds = [5, 6, 7], Cache = cache })) { }
        // A prefill wrote through the tensor path; one more token then goes through the row path and appends in place.
        using (torch.no_grad())
        using (runner.Run(new ForwardInput { TokenIds = [8], StartPosition = 3, Cache = cache })) { }
        Assert.Equal(4, cache[0].Count);
        Assert.True(cache[0].IsContiguousPrefix);
    }

    private static void AssertSameSteps(TransformerModel model, int vocab, int steps)
    {
        using var noGrad = torch.no_grad();
        var rows = new ForwardRunner(model);
        var tensors = new ForwardRunner(model) { DecodeRowPath = false };
        int context = 6 + steps + 2;
        using var rowCache = new KvCache(model.Config, context, torch.CPU, initialCapacity: 4); // grows while decoding
        using var tensorCache = new KvCache(model.Config, context, torch.CPU, initialCapacity: 4);
        var prompt = TestModels.RandomTokens(6, vocab, seed: 9);
        using (rows.Run(new ForwardInput { TokenIds = prompt, Cache = rowCache })) { }
        using (tensors.Run(new ForwardInput { TokenIds = prompt, Cache = tensorCache })) { }
        var next = TestModels.RandomTokens(steps, vocab, seed: 10);
        for (int i = 0; i < steps; i++)
        {
            using var a = rows.Run(new ForwardInput { TokenIds = [next[i]], StartPosition = 6 + i, Cache = rowCache });
            using var b = tensors.Run(new ForwardInput { TokenIds = [next[i]], StartPosition = 6 + i, Cache = tensorCache });
            Assert.Equal(b.Logits.shape, a.Logits.shape);
            float[] x = TestModels.ToArray(a.Logits), y = TestModels.ToArray(b.Logits);
            float scale = Math.Max(1, y.Max(Math.Abs));
            Assert.True(TestModels.MaxAbsDiff(x, y) <= 2e-4f * scale, $"step {i}: max |Δ| {TestModels.MaxAbsDiff(x, y)} at scale {scale}");
        }
        // The row-written cache is the tensor-written one: a tensor pass over it gives the same logits.
        using var c = tensors.Run(new ForwardInput { TokenIds = [3, 4], StartPosition = 6 + steps, Cache = rowCache });
        using var d = tensors.Run(new ForwardInput { TokenIds = [3, 4], StartPosition = 6 + steps, Cache = tensorCache });
        Assert.True(TestModels.MaxAbsDiff(TestModels.ToArray(c.Logits), TestModels.ToArray(d.Logits)) <= 2e-4f * Math.Max(1, TestModels.ToArray(d.Logits).Max(Math.Abs)));
    }
}
