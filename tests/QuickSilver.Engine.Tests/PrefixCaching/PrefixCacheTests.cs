using CsCheck;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.PrefixCaching;
using QuickSilver.Engine.Runtime;
using QuickSilver.Engine.Tests.Runtime;
using QuickSilver.Policies;
using TorchSharp;

namespace QuickSilver.Engine.Tests.PrefixCaching;

public sealed class PrefixCacheTests
{
    private static readonly ModelConfig Config = TestModels.TinyLlama(layers: 3);
    private static readonly Lazy<TransformerModel> Model = new(() => TestModels.Create(Config, seed: 5));

    [Fact]
    public void ChunkEnds_StopOnBlockMultiples()
    {
        using var cache = new PrefixCache(new PrefixCacheOptions { BlockTokens = 16 });
        Assert.Equal([16, 32, 40], cache.ChunkEnds(0, 40));
        Assert.Equal([32, 40], cache.ChunkEnds(16, 40));
        Assert.Equal([32], cache.ChunkEnds(20, 32));
        Assert.Empty(cache.ChunkEnds(8, 8));
    }

    [Fact]
    public void ASecondConversation_ReusesTheSharedPrefix_BitForBit()
    {
        using var prefixes = new PrefixCache(new PrefixCacheOptions { BlockTokens = 16 });
        int[] shared = TestModels.RandomTokens(40, Config.VocabSize, seed: 1);
        int[] first = [.. shared, .. TestModels.RandomTokens(9, Config.VocabSize, seed: 2)];
        int[] second = [.. shared, .. TestModels.RandomTokens(13, Config.VocabSize, seed: 3)];

        var (_, firstCache) = Prefill(prefixes, first, null, "dense");
        firstCache.Dispose();
        var (hit, hitCache) = Prefill(prefixes, second, null, "dense");
        Assert.Equal(32, prefixes.HitTokens);
        Assert.Equal(1, prefixes.Hits);
        using var cold = new PrefixCache(new PrefixCacheOptions { BlockTokens = 16 });
        var (recomputed, coldCache) = Prefill(cold, second, null, "dense");
        Assert.Equal(0, cold.Hits);

        Assert.Equal(recomputed, hit); // bit for bit: the same passes over the same tokens
        Assert.Equal(Decode(hitCache, 11, null), Decode(coldCache, 11, null));
        hitCache.Dispose();
        coldCache.Dispose();
    }

    [Fact]
    public void UnderAnyPolicy_ACachedPrefixGivesWhatRecomputingGives()
    {
        // Property: routing state stored with the K/V (halting, skipped and propagated entries, packed K/V, fused tokens,
        // decision entropies) is causal at block boundaries, so a restored prefix reads exactly like a recomputed one.
        CausalityPropertyTests.Policies.Sample(policy =>
        {
            var plan = new RoutingPlan(policy, Config);
            string key = System.Text.Json.JsonSerializer.Serialize(policy);
            using var prefixes = new PrefixCache(new PrefixCacheOptions { BlockTokens = 8 });
            int[] shared = TestModels.RandomTokens(21, Config.VocabSize, seed: 11);
            int[] first = [.. shared, 5, 6, 7];
            int[] second = [.. shared, 9, 10];
            Prefill(prefixes, first, plan, key).Cache.Dispose();
            var (hit, hitCache) = Prefill(prefixes, second, plan, key);
            Assert.Equal(16, prefixes.HitTokens);
            using var cold = new PrefixCache(new PrefixCacheOptions { BlockTokens = 8 });
            var (recomputed, coldCache) = Prefill(cold, second, plan, key);
            Assert.Equal(recomputed, hit);
            Assert.Equal(Decode(coldCache, 4, plan), Decode(hitCache, 4, plan));
            hitCache.Dispose();
            coldCache.Dispose();
        }, iter: 12);
    }

    [Fact]
    public void Entries_AreKeyedByPolicy_AndByTokens()
    {
        using var prefixes = new PrefixCache(new PrefixCacheOptions { BlockTokens = 8 });
        int[] prompt = TestModels.RandomTokens(20, Config.VocabSize, seed: 4);
        Prefill(prefixes, prompt, null, "dense").Cache.Dispose();
        using var target = new KvCache(Config, Config.MaxPositions, torch.CPU);
        Assert.Equal(0, prefixes.Restore("other", prompt, target, prompt.Length - 1));
        int[] different = [prompt[0] == 3 ? 4 : 3, .. prompt.Skip(1)];
        Assert.Equal(0, prefixes.Restore("dense", different, target, different.Length - 1));
        Assert.Equal(16, prefixes.Restore("dense", prompt, target, prompt.Length - 1));
        Assert.Equal(8, prefixes.Restore("dense", prompt, target, 15)); // whole blocks, within the limit
        Assert.Equal(8, target.Length);
    }

    [Fact]
    public void MemoryIsBounded_LeastRecentlyUsedGoesFirst()
    {
        using var probe = new PrefixCache(new PrefixCacheOptions { BlockTokens = 8 });
        Prefill(probe, TestModels.RandomTokens(16, Config.VocabSize, seed: 20), null, "dense").Cache.Dispose();
        long entryBytes = probe.UsedBytes;
        Assert.True(entryBytes > 0);

        using var prefixes = new PrefixCache(new PrefixCacheOptions { BlockTokens = 8, MaxBytes = 2 * entryBytes });
        var prompts = Enumerable.Range(0, 3).Select(i => TestModels.RandomTokens(17, Config.VocabSize, seed: 30 + i)).ToArray();
        Prefill(prefixes, prompts[0], null, "dense").Cache.Dispose();
        Prefill(prefixes, prompts[1], null, "dense").Cache.Dispose();
        using (var touch = new KvCache(Config, Config.MaxPositions, torch.CPU)) Assert.Equal(16, prefixes.Restore("dense", prompts[0], touch, 16));
        Prefill(prefixes, prompts[2], null, "dense").Cache.Dispose(); // evicts prompts[1], the least recently used
        Assert.Equal(2, prefixes.Count);
        Assert.Equal(1, prefixes.Evictions);
        Assert.True(prefixes.UsedBytes <= 2 * entryBytes);
        using var target = new KvCache(Config, Config.MaxPositions, torch.CPU);
        Assert.Equal(0, prefixes.Restore("dense", prompts[1], target, 16));
        Assert.Equal(16, prefixes.Restore("dense", prompts[0], target, 16));

        using var tiny = new PrefixCache(new PrefixCacheOptions { BlockTokens = 8, MaxBytes = entryBytes / 2 });
        Prefill(tiny, prompts[0], null, "dense").Cache.Dispose();
        Assert.Equal(0, tiny.Count); // an entry larger than the whole budget is not kept
    }

    [Fact]
    public void ALongerEntry_ReplacesTheOneItExtends()
    {
        using var prefixes = new PrefixCache(new PrefixCacheOptions { BlockTokens = 8 });
        int[] longer = TestModels.RandomTokens(33, Config.VocabSize, seed: 40);
        Prefill(prefixes, longer.Take(17).ToArray(), null, "dense").Cache.Dispose();
        long one = prefixes.UsedBytes;
        Prefill(prefixes, longer, null, "dense").Cache.Dispose();
        Assert.Equal(1, prefixes.Count);
        Assert.Equal(2, prefixes.Hits + prefixes.Misses);
        Prefill(prefixes, longer.Take(17).ToArray(), null, "dense").Cache.Dispose(); // covered: nothing new stored
        Assert.Equal(1, prefixes.Count);
        Assert.True(prefixes.UsedBytes > one);
    }

    [Theory]
    [InlineData(0, 16, "MaxBytes")]
    [InlineData(1024, 0, "BlockTokens")]
    public void InvalidOptions_AreRejectedByName(long bytes, int block, string name)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new PrefixCache(new PrefixCacheOptions { MaxBytes = bytes, BlockTokens = block }));
        Assert.Contains(name, e.Message);
    }

    /// <summary>The prefill a prefix-cached engine runs: restore, then the chunks <see cref="PrefixCache.ChunkEnds"/> gives, then store.</summary>
    private static (float[] Logits, KvCache Cache) Prefill(PrefixCache prefixes, int[] prompt, RoutingPlan? plan, string key)
    {
        var runner = new ForwardRunner(Model.Value);
        var cache = new KvCache(Config, Config.MaxPositions, torch.CPU);
        int start = prefixes.Restore(key, prompt, cache, prompt.Length - 1);
        float[] logits = [];
        foreach (int end in prefixes.ChunkEnds(start, prompt.Length))
        {
            using var output = runner.Run(new ForwardInput { TokenIds = prompt[start..end], StartPosition = start, Cache = cache, Plan = plan });
            logits = TestModels.ToArray(output.Logits);
            start = end;
        }
        prefixes.Store(key, prompt, cache, prompt.Length);
        return (logits, cache);
    }

    private static List<float[]> Decode(KvCache cache, int steps, RoutingPlan? plan)
    {
        var runner = new ForwardRunner(Model.Value);
        var rows = new List<float[]>();
        for (int i = 0; i < steps; i++)
        {
            using var output = runner.Run(new ForwardInput { TokenIds = [3 + i], StartPosition = cache.Length, Cache = cache, Plan = plan });
            rows.Add(TestModels.ToArray(output.Logits));
        }
        return rows;
    }
}
