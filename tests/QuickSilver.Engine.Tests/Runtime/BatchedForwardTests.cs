using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using QuickSilver.Engine.Tests.Architectures;
using QuickSilver.Policies;
using TorchSharp;

namespace QuickSilver.Engine.Tests.Runtime;

/// <summary>
/// <see cref="ForwardRunner.RunBatch"/>: the new rows of several sequences in one pass give each sequence what it gets alone,
/// with ragged lengths, different start positions, every family's attention variant, packed weights and routed policies.
/// </summary>
public sealed class BatchedForwardTests
{
    /// <summary>One sequence of a batch: tokens already in its cache, then the tokens of this step.</summary>
    private sealed record Lane(int Prefix, int New, bool AllLogits = false, QuickSilverPolicy? Policy = null);

    // A decode step, a verification run of 4, a fresh prefill chunk with every row's logits, a decode deep into the
    // context (past a sliding window), and a second fresh chunk: ragged in length and position.
    private static readonly Lane[] Mixed = [new(10, 1), new(5, 4), new(0, 7, AllLogits: true), new(20, 1), new(0, 3)];

    [Theory]
    [MemberData(nameof(TinyFamilies.Names), MemberType = typeof(TinyFamilies))]
    public void Batched_logits_equal_each_sequence_alone(string family)
    {
        var config = TinyFamilies.Config(family, layers: 3);
        using var model = TestModels.Create(config, seed: 3);
        var (alone, batched) = Compare(model, Mixed);
        for (int i = 0; i < Mixed.Length; i++)
            for (int step = 0; step < alone[i].Count; step++)
                Assert.True(TestModels.MaxAbsDiff(alone[i][step], batched[i][step]) < 1e-4f, $"{family}: sequence {i}, step {step}");
    }

    [Theory]
    [InlineData(KvCacheType.Float32)]
    [InlineData(KvCacheType.Float16)]
    [InlineData(KvCacheType.BFloat16)]
    public void Packed_weights_give_bit_identical_rows(KvCacheType storage)
    {
        // Every projection kept in Q8_0 blocks: the managed kernels compute each row on its own, so batching changes no bit.
        var config = TinyArchitectures.Base("llama");
        using var model = TransformerModel.Create(RandomCheckpoint.Create(config, 5, 0.3f), torch.CPU, GgufTensorType.Q8_0);
        Assert.All(model.Matrices, m => Assert.IsType<PackedLinearWeight>(m));
        // Alone, a one-token step would take the host row path, whose norms and attention agree to float rounding only.
        var (alone, batched) = Compare(model, Mixed, out _, out _, decodeRowPath: false, storage);
        for (int i = 0; i < Mixed.Length; i++)
            for (int step = 0; step < alone[i].Count; step++)
                Assert.Equal(alone[i][step], batched[i][step]);
    }

    [Fact]
    public void A_routed_sequence_in_the_batch_keeps_its_own_decisions()
    {
        var config = TestModels.TinyLlama();
        using var model = TestModels.Create(config, seed: 4);
        var paper = QuickSilverPolicy.Paper();
        Lane[] lanes = [new(6, 1), new(0, 9, AllLogits: true, Policy: paper), new(12, 1), new(8, 2, Policy: paper)];
        var (alone, batched) = Compare(model, lanes, out var aloneStats, out var batchedStats);
        for (int i = 0; i < lanes.Length; i++)
        {
            for (int step = 0; step < alone[i].Count; step++)
                Assert.True(TestModels.MaxAbsDiff(alone[i][step], batched[i][step]) < 1e-4f, $"sequence {i}, step {step}");
            Assert.Equal(aloneStats[i].ActiveTokenLayers, batchedStats[i].ActiveTokenLayers);
            Assert.Equal(aloneStats[i].KvWrites, batchedStats[i].KvWrites);
            Assert.Equal(aloneStats[i].HaltedTokenLayers, batchedStats[i].HaltedTokenLayers);
        }
    }

    [Fact]
    public void Two_sequences_sharing_a_cache_are_rejected()
    {
        var config = TestModels.TinyLlama();
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        using var cache = new KvCache(config, 32, torch.CPU);
        var error = Assert.Throws<ArgumentException>(() => runner.RunBatch([
            new ForwardInput { TokenIds = [3], Cache = cache },
            new ForwardInput { TokenIds = [4], Cache = cache },
        ]));
        Assert.Contains("cache", error.Message);
        Assert.Equal(0, cache.Length);
    }

    [Fact]
    public void A_bad_sequence_leaves_the_others_untouched()
    {
        var config = TestModels.TinyLlama();
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        using var good = new KvCache(config, 32, torch.CPU);
        using var full = new KvCache(config, 4, torch.CPU);
        Assert.Throws<QuickSilver.Engine.Generation.ContextLengthExceededException>(() => runner.RunBatch([
            new ForwardInput { TokenIds = [3, 4, 5], Cache = good },
            new ForwardInput { TokenIds = [3, 4, 5, 6, 7], Cache = full },
        ]));
        Assert.Equal(0, good.Length);
        Assert.Equal(0, good[0].Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => runner.RunBatch([
            new ForwardInput { TokenIds = [3], Cache = good },
            new ForwardInput { TokenIds = [config.VocabSize] },
        ]));
        Assert.Equal(0, good[0].Count);
        Assert.Throws<ArgumentException>(() => runner.RunBatch([]));
    }

    private static (List<float[]>[] Alone, List<float[]>[] Batched) Compare(TransformerModel model, Lane[] lanes) =>
        Compare(model, lanes, out _, out _);

    /// <summary>
    /// Per lane, the logits of the lane's step and of one more decode step after it: once with each lane on its own, once
    /// with all lanes batched (both steps), from identical prefilled caches.
    /// </summary>
    private static (List<float[]>[] Alone, List<float[]>[] Batched) Compare(TransformerModel model, Lane[] lanes,
        out RuntimeStats[] aloneStats, out RuntimeStats[] batchedStats, bool decodeRowPath = true, KvCacheType storage = KvCacheType.Float32)
    {
        var config = model.Config;
        var runner = new ForwardRunner(model) { DecodeRowPath = decodeRowPath };
        var tokens = lanes.Select((lane, i) => TestModels.RandomTokens(lane.Prefix + lane.New + 1, config.VocabSize, seed: 100 + i)).ToArray();
        var plans = lanes.Select(lane => lane.Policy is null ? null : new RoutingPlan(lane.Policy, config)).ToArray();
        var alone = lanes.Select(_ => new List<float[]>()).ToArray();
        var batched = lanes.Select(_ => new List<float[]>()).ToArray();
        aloneStats = lanes.Select(_ => new RuntimeStats()).ToArray();
        batchedStats = lanes.Select(_ => new RuntimeStats()).ToArray();

        var caches = lanes.Select(_ => new KvCache(config, 48, torch.CPU, initialCapacity: 4, storage)).ToArray();
        try
        {
            ForwardInput Step(int i, int phase, RuntimeStats stats) => phase == 0
                ? new ForwardInput
                {
                    TokenIds = tokens[i][lanes[i].Prefix..(lanes[i].Prefix + lanes[i].New)], StartPosition = lanes[i].Prefix, Cache = caches[i],
                    Plan = plans[i], AllLogits = lanes[i].AllLogits, Stats = stats,
                }
                : new ForwardInput { TokenIds = [tokens[i][^1]], StartPosition = lanes[i].Prefix + lanes[i].New, Cache = caches[i], Plan = plans[i], Stats = stats };

            void Prefill()
            {
                for (int i = 0; i < lanes.Length; i++)
                {
                    caches[i].Clear();
                    if (lanes[i].Prefix > 0)
                        runner.Run(new ForwardInput { TokenIds = tokens[i][..lanes[i].Prefix], Cache = caches[i], Plan = plans[i] }).Dispose();
                }
            }

            Prefill();
            for (int i = 0; i < lanes.Length; i++)
                for (int phase = 0; phase < 2; phase++)
                {
                    using var output = runner.Run(Step(i, phase, aloneStats[i]));
                    alone[i].Add(TestModels.ToArray(output.Logits));
                }

            Prefill();
            for (int phase = 0; phase < 2; phase++)
            {
                var stats = batchedStats;
                var outputs = runner.RunBatch(lanes.Select((_, i) => Step(i, phase, stats[i])).ToArray());
                for (int i = 0; i < lanes.Length; i++)
                {
                    batched[i].Add(TestModels.ToArray(outputs[i].Logits));
                    outputs[i].Dispose();
                    Assert.Equal(lanes[i].Prefix + lanes[i].New + phase, caches[i].Length);
                }
            }
            return (alone, batched);
        }
        finally
        {
            foreach (var cache in caches) cache.Dispose();
        }
    }
}

[Collection(TensorCountCollection.Name)]
public sealed class BatchedForwardLeakCheck
{
    [Fact]
    public void Batched_passes_leak_no_tensors()
    {
        var config = TestModels.TinyLlama();
        using var model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        var caches = Enumerable.Range(0, 3).Select(_ => new KvCache(config, 64, torch.CPU)).ToArray();
        void Step(int i)
        {
            if (i % 20 == 0) foreach (var c in caches) c.Clear();
            var outputs = runner.RunBatch(caches.Select((c, j) => new ForwardInput { TokenIds = [3 + j, 4 + ((i + j) % 5)], StartPosition = c.Length, Cache = c, AllLogits = j == 1 }).ToArray());
            foreach (var o in outputs) o.Dispose();
        }
        Step(0);
        LeakCheck.Settle();
        long before = torch.Tensor.TotalCount;
        for (int i = 1; i < 60; i++) Step(i);
        LeakCheck.Settle();
        Assert.Equal(before, torch.Tensor.TotalCount);
        foreach (var c in caches) c.Dispose();
    }
}
