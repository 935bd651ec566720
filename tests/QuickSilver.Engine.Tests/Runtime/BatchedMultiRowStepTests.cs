using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using TorchSharp;

namespace QuickSilver.Engine.Tests.Runtime;

/// <summary>
/// Multi-token steps (speculative verification, forced tokens) batched with other sequences' steps in one
/// <see cref="ForwardRunner.RunBatch"/>: each sequence's logits rows, from its LogitsFrom on, are bit-identical to its step
/// alone, whatever the other segments' lengths; float and Q8_0 weights, SwiGLU and GELU blocks, ragged caches.
/// </summary>
public sealed class BatchedMultiRowStepTests
{
    [Theory]
    [InlineData("llama", false)]
    [InlineData("llama", true)]
    [InlineData("gpt2", false)]
    [InlineData("gpt2", true)]
    public void Batched_multi_token_steps_equal_each_step_alone_bit_for_bit(string family, bool q8)
    {
        var config = BatchedRowDecodeTests.Wide(family);
        using var model = TransformerModel.Create(RandomCheckpoint.Create(config, 11, 0.3f), torch.CPU, q8 ? GgufTensorType.Q8_0 : null);
        var runner = new ForwardRunner(model);
        int[] prefixes = [3, 9, 1, 17, 5];
        // Per round, each sequence's step length and first wanted row (0 = every row).
        int[][] lengths = [[1, 5, 3, 9, 2], [4, 1, 7, 1, 6]];
        int[][] logitsFrom = [[0, 2, 0, 8, 1], [3, 0, 0, 0, 5]];
        var tokens = prefixes.Select((p, i) => TestModels.RandomTokens(p + 20, config.VocabSize, seed: 60 + i)).ToArray();
        var alone = Steps(runner, config, prefixes, tokens, lengths, logitsFrom, batched: false);
        var batched = Steps(runner, config, prefixes, tokens, lengths, logitsFrom, batched: true);
        for (int i = 0; i < prefixes.Length; i++)
        {
            Assert.Equal(alone[i].Count, batched[i].Count);
            for (int step = 0; step < alone[i].Count; step++) Assert.Equal(alone[i][step], batched[i][step]);
        }
    }

    private static List<float[]>[] Steps(ForwardRunner runner, ModelConfig config, int[] prefixes, int[][] tokens, int[][] lengths, int[][] logitsFrom, bool batched)
    {
        var caches = prefixes.Select(_ => new KvCache(config, 64, torch.CPU, initialCapacity: 4)).ToArray();
        var logits = prefixes.Select(_ => new List<float[]>()).ToArray();
        var positions = prefixes.ToArray();
        try
        {
            for (int i = 0; i < prefixes.Length; i++) runner.Run(new ForwardInput { TokenIds = tokens[i][..prefixes[i]], Cache = caches[i] }).Dispose();
            for (int round = 0; round < lengths.Length; round++)
            {
                var inputs = prefixes.Select((_, i) => new ForwardInput
                {
                    TokenIds = tokens[i][positions[i]..(positions[i] + lengths[round][i])], StartPosition = positions[i], Cache = caches[i],
                    AllLogits = true, LogitsFrom = logitsFrom[round][i],
                }).ToArray();
                var outputs = batched ? runner.RunBatch(inputs) : inputs.Select(runner.Run).ToArray();
                for (int i = 0; i < outputs.Count; i++)
                {
                    Assert.Equal(lengths[round][i] - logitsFrom[round][i], outputs[i].Logits.shape[0]);
                    logits[i].Add(TestModels.ToArray(outputs[i].Logits));
                    outputs[i].Dispose();
                    positions[i] += lengths[round][i];
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
