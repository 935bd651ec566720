using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using TorchSharp;

namespace QuickSilver.Engine.Tests.Runtime;

/// <summary>
/// Batched decode on host rows (<see cref="ForwardRunner.RunBatch"/> with one token per sequence): each sequence's logits
/// are bit-identical to its step alone, for float and Q8_0 weights, SwiGLU and GELU blocks, ragged cache lengths.
/// </summary>
public sealed class BatchedRowDecodeTests
{
    internal static ModelConfig Wide(string family) => family == "gpt2"
        ? TestModels.TinyGpt2() with { HiddenSize = 96, HeadDim = 24, IntermediateSize = 200 }
        : TestModels.TinyLlama(layers: 3) with { HiddenSize = 128, HeadDim = 32, IntermediateSize = 200, VocabSize = 72 };

    [Theory]
    [InlineData("llama", false, KvCacheType.Float32)]
    [InlineData("llama", true, KvCacheType.Float32)]
    [InlineData("gpt2", false, KvCacheType.Float32)]
    [InlineData("gpt2", true, KvCacheType.Float32)]
    [InlineData("llama", true, KvCacheType.Float16)]
    [InlineData("gpt2", false, KvCacheType.Float16)]
    [InlineData("llama", false, KvCacheType.BFloat16)]
    public void Batched_decode_rows_equal_each_sequence_alone_bit_for_bit(string family, bool q8, KvCacheType storage)
    {
        var config = Wide(family);
        using var model = TransformerModel.Create(RandomCheckpoint.Create(config, 7, 0.3f), torch.CPU, q8 ? GgufTensorType.Q8_0 : null);
        var runner = new ForwardRunner(model);
        int[] prefixes = [3, 9, 1, 17, 5];
        var tokens = prefixes.Select((p, i) => TestModels.RandomTokens(p + 4, config.VocabSize, seed: 40 + i)).ToArray();
        KvCache NewCache() => new(config, 64, torch.CPU, initialCapacity: 4, storage);
        var alone = DecodeSequences(runner, NewCache, prefixes, tokens, steps: 4, batched: false);
        var batched = DecodeSequences(runner, NewCache, prefixes, tokens, steps: 4, batched: true);
        for (int i = 0; i < prefixes.Length; i++)
            for (int step = 0; step < alone[i].Count; step++)
                Assert.Equal(alone[i][step], batched[i][step]);
    }

    /// <summary>
    /// Prefills a new cache per sequence with its first <paramref name="prefixes"/> tokens, then runs <paramref name="steps"/>
    /// decode steps per sequence, alone or all sequences per call; returns each sequence's logits per step.
    /// </summary>
    internal static List<float[]>[] DecodeSequences(ForwardRunner runner, Func<KvCache> newCache, int[] prefixes, int[][] tokens, int steps, bool batched)
    {
        var caches = prefixes.Select(_ => newCache()).ToArray();
        var logits = prefixes.Select(_ => new List<float[]>()).ToArray();
        try
        {
            for (int i = 0; i < prefixes.Length; i++) runner.Run(new ForwardInput { TokenIds = tokens[i][..prefixes[i]], Cache = caches[i] }).Dispose();
            for (int step = 0; step < steps; step++)
            {
                var inputs = prefixes.Select((p, i) => new ForwardInput { TokenIds = [tokens[i][p + step]], StartPosition = p + step, Cache = caches[i] }).ToArray();
                var outputs = batched ? runner.RunBatch(inputs) : inputs.Select(runner.Run).ToArray();
                for (int i = 0; i < outputs.Count; i++)
                {
                    logits[i].Add(TestModels.ToArray(outputs[i].Logits));
                    outputs[i].Dispose();
                }
            }
            return logits;
        }
        finally
        {
            foreach (var cache in caches) cache.Dispose();
        }
    }
}
