using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;

namespace QuickSilver.Engine.Tests;

/// <summary>Small random models for tests that need no checkpoint.</summary>
internal static class TestModels
{
    public static ModelConfig TinyLlama(int layers = 4) => new()
    {
        Architecture = "llama", VocabSize = 64, HiddenSize = 32, NumLayers = layers, NumHeads = 4, NumKvHeads = 2, HeadDim = 8,
        IntermediateSize = 48, MaxPositions = 96, Norm = NormKind.RmsNorm, Positions = PositionEncodingKind.Rotary,
        FeedForward = FeedForwardKind.SwiGlu, TiedEmbeddings = false, BosTokenId = 1, EosTokenId = 2,
    };

    public static ModelConfig TinyGpt2(int layers = 3) => new()
    {
        Architecture = "gpt2", VocabSize = 80, HiddenSize = 32, NumLayers = layers, NumHeads = 4, NumKvHeads = 4, HeadDim = 8,
        IntermediateSize = 128, MaxPositions = 96, Norm = NormKind.LayerNorm, Positions = PositionEncodingKind.Learned,
        FeedForward = FeedForwardKind.GeluTanh, AttentionBias = true, MlpBias = true, TiedEmbeddings = true, BosTokenId = 79, EosTokenId = 79,
    };

    public static TransformerModel Create(ModelConfig config, int seed = 1, float std = 0.3f) =>
        TransformerModel.Create(RandomCheckpoint.Create(config, seed, std), TorchSharp.torch.CPU);

    public static int[] RandomTokens(int count, int vocab, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => random.Next(3, vocab)).ToArray();
    }

    public static float[] ToArray(TorchSharp.torch.Tensor t) => t.contiguous().data<float>().ToArray();

    public static float MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        float max = 0;
        for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }
}
