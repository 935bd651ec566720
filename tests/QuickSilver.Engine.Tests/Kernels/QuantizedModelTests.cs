using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using QuickSilver.Engine.Tests.Loading;
using TorchSharp;
using Xunit;

namespace QuickSilver.Engine.Tests.Kernels;

/// <summary>
/// Weights kept in their GGUF blocks give the same model as the decoded weights: exactly (float rounding) with float
/// activations, prefill and cached decode alike. With 8-bit activations the kernels are exact against their own reference
/// (<see cref="QuantizedKernelTests"/>); at model level the rounding of every projection's input compounds through this
/// tiny random model (weights uniform in [−1, 1], unnormalized), so only a coarse bound (5% / 15% of the largest logit for
/// Q8_0 / Q4_0) is asserted there.
/// </summary>
public sealed class QuantizedModelTests
{
    [Theory]
    [InlineData(GgufTensorType.Q8_0)]
    [InlineData(GgufTensorType.Q4_0)]
    public void PackedGgufHoldsTheSameWeightsInFileSize(GgufTensorType type)
    {
        using var temp = new TempDirectory();
        string path = temp.File("tiny.gguf");
        TinyLlama.Create().GgufWriter(type).Write(path);
        CheckpointData packed = GgufLoader.Load(path, keepQuantized: true);
        CheckpointData decoded = GgufLoader.Load(path);
        Assert.NotNull(packed.Tensors[WeightNames.Query(1)].Packed);
        Assert.NotNull(packed.Tensors[WeightNames.Embedding].Packed);
        Assert.Null(packed.Tensors[WeightNames.AttnNormWeight(0)].Packed);
        long packedBytes = packed.Tensors.Values.Sum(t => t.Packed?.ByteSize ?? 0);
        GgufFile file = GgufFile.Read(path);
        Assert.Equal(file.Tensors.Where(t => t.Type == type).Sum(t => t.ByteSize!.Value), packedBytes);
        // Row permutation of llama's q/k happens on whole packed rows and must equal the float permutation.
        TestData.AssertSameTensors(decoded.Tensors, packed.Tensors);
    }

    [Theory]
    [InlineData(GgufTensorType.Q8_0, false, 1e-4f)]
    [InlineData(GgufTensorType.Q4_0, false, 1e-4f)]
    [InlineData(GgufTensorType.Q8_0, true, 0.05f)]
    [InlineData(GgufTensorType.Q4_0, true, 0.15f)]
    public void PackedModelMatchesTheFloatModelOnTheDecodedWeights(GgufTensorType type, bool quantizeActivations, float tolerance)
    {
        using var temp = new TempDirectory();
        string path = temp.File("tiny.gguf");
        TinyLlama.Create().GgufWriter(type).Write(path);
        using var packed = TransformerModel.Create(GgufLoader.Load(path, keepQuantized: true), torch.CPU, null, quantizeActivations);
        using var dense = TransformerModel.Create(GgufLoader.Load(path), torch.CPU);
        Assert.Contains(packed.Matrices, m => m is PackedLinearWeight);
        Assert.All(dense.Matrices, m => Assert.IsType<DenseLinearWeight>(m));
        AssertSameLogits(packed, dense, tolerance);
    }

    [Theory]
    [InlineData(GgufTensorType.Q8_0)]
    [InlineData(GgufTensorType.Q4_0)]
    public void QuantizingFloatWeightsAtLoadEqualsTheReferenceQuantizer(GgufTensorType type)
    {
        var config = TestModels.TinyLlama() with { IntermediateSize = 64 };
        var checkpoint = RandomCheckpoint.Create(config, 3, 0.3f);
        using var quantized = TransformerModel.Create(checkpoint, torch.CPU, type, quantizeActivations: false);
        // The reference: every matrix through the ggml quantizer and decoder, then a float model.
        var rounded = checkpoint.Tensors.ToDictionary(p => p.Key, p => p.Value.Shape.Length == 2 && p.Value.Shape[1] % 32 == 0
            ? new HostTensor(p.Key, p.Value.Shape, QuantizedMatrix.Quantize(type, p.Value.Shape[0], p.Value.Shape[1], p.Value.Data).Dequantize())
            : p.Value);
        using var reference = TransformerModel.Create(new CheckpointData(config, rounded, null, "reference"), torch.CPU);
        Assert.All(quantized.Matrices, m => Assert.Equal(type.ToString(), m.Format));
        AssertSameLogits(quantized, reference, 1e-4f);
    }

    [Fact]
    public void QuantizeWeightsRejectsOtherTypes()
    {
        var checkpoint = RandomCheckpoint.Create(TestModels.TinyLlama(), 3, 0.3f);
        Assert.Throws<ArgumentException>(() => TransformerModel.Create(checkpoint, torch.CPU, GgufTensorType.Q4_K));
    }

    /// <summary>Prefill logits and cached one-token decode logits agree between the two models.</summary>
    private static void AssertSameLogits(TransformerModel actual, TransformerModel expected, float tolerance)
    {
        int[] tokens = TestModels.RandomTokens(12, actual.Config.VocabSize, seed: 4);
        float[] Run(TransformerModel model)
        {
            var runner = new ForwardRunner(model);
            using var cache = new KvCache(model.Config, 32, torch.CPU);
            var logits = new List<float>();
            using (var prefill = runner.Run(new ForwardInput { TokenIds = tokens[..8], Cache = cache, AllLogits = true }))
                logits.AddRange(TestModels.ToArray(prefill.Logits));
            for (int i = 8; i < tokens.Length; i++)
            {
                using var step = runner.Run(new ForwardInput { TokenIds = [tokens[i]], StartPosition = i, Cache = cache });
                logits.AddRange(TestModels.ToArray(step.Logits));
            }
            return [.. logits];
        }
        float[] a = Run(actual), e = Run(expected);
        float scale = e.Max(Math.Abs);
        float diff = TestModels.MaxAbsDiff(a, e);
        Assert.True(diff <= tolerance * Math.Max(1f, scale), $"max |Δlogit| {diff} (largest logit {scale})");
    }
}
