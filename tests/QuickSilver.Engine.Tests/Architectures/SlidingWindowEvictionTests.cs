using QuickSilver.Engine.Models;
using QuickSilver.Engine.PrefixCaching;
using QuickSilver.Engine.Runtime;
using QuickSilver.Engine.Tests.Runtime;
using TorchSharp;

namespace QuickSilver.Engine.Tests.Architectures;

/// <summary>
/// Sliding-window layers evict the keys their queries can no longer see: the cache stays bounded far beyond the window while
/// decoding gives the logits one prefill gives, on the row path, the tensor path and batched rows, at every K/V storage type;
/// rollback within the margin works and further back is refused with <see cref="KvCacheEvictedException"/>.
/// </summary>
public sealed class SlidingWindowEvictionTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int Window = 8, Margin = 4, Tokens = 100, Context = 128;

    /// <summary>Mistral-like (every layer windowed) and Gemma-2-like (alternating local/global layers, soft-caps).</summary>
    private static ModelConfig Config(string family) => family switch
    {
        "gemma2" => TinyArchitectures.ByName("gemma2").Config with { SlidingWindow = Window, MaxPositions = Context },
        _ => TinyArchitectures.Base("mistral") with { NumLayers = 3, SlidingWindow = Window, MaxPositions = Context },
    };

    [Theory]
    [InlineData("mistral", true, 1, KvCacheType.Float32)]
    [InlineData("mistral", false, 1, KvCacheType.Float32)]
    [InlineData("mistral", false, 5, KvCacheType.Float32)]
    [InlineData("mistral", true, 3, KvCacheType.Float16)]
    [InlineData("gemma2", true, 1, KvCacheType.Float32)]
    [InlineData("gemma2", false, 7, KvCacheType.BFloat16)]
    [InlineData("gemma2", true, 1, KvCacheType.Float16)]
    public void Decoding_far_beyond_the_window_keeps_windowed_layers_bounded_and_equals_one_prefill(string family, bool rowPath, int chunk, KvCacheType storage)
    {
        ModelConfig config = Config(family);
        using TransformerModel model = TestModels.Create(config);
        var runner = new ForwardRunner(model) { DecodeRowPath = rowPath };
        int[] tokens = TestModels.RandomTokens(Tokens, config.VocabSize, 11);
        // The same passes over a cache that never evicts (its margin spans the context): eviction alone must not move the logits.
        using var full = new KvCache(config, Context, torch.CPU, initialCapacity: 4, storage: storage, rollbackMargin: Context);
        float[] expected = Decode(runner, full, tokens, 0, chunk);
        using var cache = new KvCache(config, Context, torch.CPU, initialCapacity: 4, storage: storage, rollbackMargin: Margin);
        float[] pieces = Decode(runner, cache, tokens, 0, chunk);
        // Eviction moves where kept entries sit, which can move the last bit of a softmax sum (float32: ~1e-7). With 16-bit K/V a
        // later layer's key can then round to the neighbouring 16-bit value: one storage ulp (2⁻¹¹ relative for float16) is the bound.
        float delta = TestModels.MaxAbsDiff(expected, pieces);
        float tolerance = storage == KvCacheType.Float32 ? 1e-5f : 1e-3f;
        Assert.True(delta < tolerance * Math.Max(1f, expected.Max(Math.Abs)), $"evicting vs keeping every entry: max |Δ| {delta}");
        if (storage == KvCacheType.Float32)
        {
            // And float32 decoding equals one prefill (16-bit K/V rounds keys the prefill's own queries then read rounded too,
            // but its chained rounding over 100 positions is not the 1e-4 this checks).
            using ForwardOutput once = runner.Run(new ForwardInput { TokenIds = tokens, AllLogits = true });
            float[] prefill = TestModels.ToArray(once.Logits);
            float fromPrefill = TestModels.MaxAbsDiff(prefill, pieces);
            Assert.True(fromPrefill < 1e-4f * Math.Max(1f, prefill.Max(Math.Abs)), $"decoded vs one prefill: max |Δ| {fromPrefill}");
        }

        for (int l = 0; l < config.NumLayers; l++)
        {
            if (config.WindowOf(l) is null)
            {
                Assert.Equal(Tokens, cache[l].Count);
                continue;
            }
            Assert.True(cache[l].Count <= cache[l].EntryBound, $"layer {l}: {cache[l].Count} entries, bound {cache[l].EntryBound}");
            Assert.True(cache[l].AllocatedBytes < full[l].AllocatedBytes / 2, $"layer {l}: {cache[l].AllocatedBytes} B allocated vs {full[l].AllocatedBytes} B unevicted");
        }
        Assert.True(cache.EarliestTruncation > 0);
    }

    [Fact]
    public void Rollback_within_the_margin_recomputes_the_same_logits_and_further_back_is_refused()
    {
        ModelConfig config = Config("gemma2");
        using TransformerModel model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        int[] tokens = TestModels.RandomTokens(Tokens, config.VocabSize, 12);
        using var cache = new KvCache(config, Context, torch.CPU, storage: KvCacheType.Float16, rollbackMargin: Margin);
        float[] first = Decode(runner, cache, tokens, 0, 1);
        int vocab = config.VocabSize;

        cache.TruncateFrom(Tokens - Margin);
        float[] again = Decode(runner, cache, tokens, Tokens - Margin, 1);
        float delta = TestModels.MaxAbsDiff(first[((Tokens - Margin) * vocab)..], again);
        Assert.True(delta < 1e-5f * Math.Max(1f, first.Max(Math.Abs)), $"re-decoded after rollback: max |Δ| {delta}");

        // A verify step on the row path (up to the margin's rows) is undone whole, and so is a longer pass on the tensor path.
        Assert.True(cache.HoldsPrefix(Tokens - Margin));
        using (runner.Run(new ForwardInput { TokenIds = tokens[..Margin], StartPosition = Tokens, Cache = cache, AllLogits = true }))
        {
        }
        cache.TruncateFrom(Tokens);
        var tensorRunner = new ForwardRunner(model) { DecodeRowPath = false };
        using (tensorRunner.Run(new ForwardInput { TokenIds = tokens[..(3 * Margin)], StartPosition = Tokens, Cache = cache, AllLogits = true }))
        {
        }
        cache.TruncateFrom(Tokens);
        int earliest = cache.EarliestTruncation;
        Assert.InRange(earliest, Window, Tokens); // the undone 12-row pass moved it up to its start
        var refused = Assert.Throws<KvCacheEvictedException>(() => cache.TruncateFrom(earliest - 1));
        Assert.Equal(earliest - 1, refused.Position);
        Assert.Equal(earliest, refused.EarliestPosition);
        Assert.Equal(Tokens, cache.Length); // nothing was dropped
        cache.TruncateFrom(0);
        Assert.Equal(0, cache.EarliestTruncation);
        Assert.True(cache.HoldsPrefix(0));
    }

    [Fact]
    public void Batched_rows_equal_each_sequence_alone_bit_for_bit_across_compactions()
    {
        ModelConfig config = Config("gemma2");
        using TransformerModel model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        int[] prefixes = [3, 20, 9];
        var tokens = prefixes.Select((p, i) => TestModels.RandomTokens(p + 40, config.VocabSize, seed: 50 + i)).ToArray();
        KvCache NewCache() => new(config, Context, torch.CPU, initialCapacity: 4, rollbackMargin: Margin);
        var alone = BatchedRowDecodeTests.DecodeSequences(runner, NewCache, prefixes, tokens, steps: 40, batched: false);
        var batched = BatchedRowDecodeTests.DecodeSequences(runner, NewCache, prefixes, tokens, steps: 40, batched: true);
        for (int i = 0; i < prefixes.Length; i++)
            for (int step = 0; step < alone[i].Count; step++)
                Assert.Equal(alone[i][step], batched[i][step]);
    }

    [Fact]
    public void Prefix_cache_restores_a_held_prefix_exactly_and_refuses_an_evicted_one()
    {
        ModelConfig config = Config("mistral");
        using TransformerModel model = TestModels.Create(config);
        var runner = new ForwardRunner(model);
        int[] tokens = TestModels.RandomTokens(Tokens, config.VocabSize, 13);
        using var prefixes = new PrefixCache(new PrefixCacheOptions { BlockTokens = 16 });
        using var source = new KvCache(config, Context, torch.CPU, rollbackMargin: Margin);
        Decode(runner, source, tokens[..64], 0, 16); // passes ending on block multiples, as a block prefill runs them
        float[] continued = Decode(runner, source, tokens, 64, 1);

        Assert.Equal(0, prefixes.Store("p", tokens, source, 32)); // evicted: too far back
        Assert.True(source.EarliestTruncation > 32);
        using var late = new KvCache(config, Context, torch.CPU, rollbackMargin: Margin);
        Decode(runner, late, tokens[..64], 0, 16);
        Assert.Equal(64, prefixes.Store("p", tokens, late, 64));

        using var target = new KvCache(config, Context, torch.CPU, rollbackMargin: Margin);
        Assert.Equal(64, prefixes.Restore("p", tokens, target, Tokens - 1));
        float[] restored = Decode(runner, target, tokens, 64, 1);
        Assert.Equal(continued, restored);
        Assert.Equal(0, prefixes.Restore("p", tokens[..48], target, 47)); // 32 usable tokens in whole blocks: evicted in the entry
    }

    /// <summary>
    /// K/V memory on a long prompt, one sliding-window layer (window 512, 2 K/V heads of 64, float32, default margin): an
    /// 8192-token prompt in one pass grows the buffers for that pass (its own queries need every key); the first decode step
    /// compacts them back to the bound. In 64-token passes (prefix-cache block prefills), they never pass it.
    /// </summary>
    [Theory]
    [InlineData(8192)]
    [InlineData(64)]
    public void A_long_prompt_leaves_a_window_layer_holding_its_bound_not_the_prompt(int passTokens)
    {
        const int window = 512, prompt = 8192, kvHeads = 2, headDim = 64;
        using var evicting = new LayerKvCache(kvHeads, headDim, prompt + 64, 256, torch.CPU, window: window);
        using var keeping = new LayerKvCache(kvHeads, headDim, prompt + 64, 256, torch.CPU);
        long peak = 0;
        foreach (var cache in new[] { evicting, keeping })
        {
            using var scope = torch.NewDisposeScope();
            for (int at = 0; at < prompt; at += passTokens)
            {
                var k = torch.randn(1, kvHeads, passTokens, headDim);
                cache.Update(k, k, torch.tensor(Enumerable.Range(at, passTokens).Select(i => (long)i).ToArray()), at);
                if (ReferenceEquals(cache, evicting)) peak = Math.Max(peak, cache.AllocatedBytes);
            }
            var one = torch.randn(1, kvHeads, 1, headDim);
            cache.Update(one, one, torch.tensor(new long[] { prompt }), prompt); // the first decode step
        }
        output.WriteLine($"{passTokens}-token passes: after the prompt and one step, window layer {evicting.AllocatedBytes / 1024.0:F0} KiB ({evicting.Count} entries, bound {evicting.EntryBound}) " +
            $"vs {keeping.AllocatedBytes / 1024.0:F0} KiB ({keeping.Count} entries) kept; peak during the prompt {peak / 1024.0:F0} KiB");
        Assert.True(evicting.Count <= evicting.EntryBound);
        Assert.True(evicting.AllocatedBytes <= (long)evicting.EntryBound * (2L * kvHeads * headDim * sizeof(float) + sizeof(long)));
        if (passTokens < evicting.EntryBound) Assert.True(peak <= evicting.AllocatedBytes);
        Assert.True(keeping.AllocatedBytes > 10 * evicting.AllocatedBytes);
    }

    [Fact]
    public void A_layer_cache_refuses_a_non_positive_window()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new LayerKvCache(1, 4, 16, 4, torch.CPU, window: 0));
        Assert.Equal("window", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new KvCache(Config("mistral"), 16, torch.CPU, rollbackMargin: 0));
    }

    [Fact]
    public void The_default_margin_covers_a_whole_generator_step() =>
        Assert.True(LayerKvCache.DefaultRollbackMargin >= QuickSilver.Engine.Generation.Generator.MaxStepTokens);

    /// <summary>Runs tokens[start..] through <paramref name="cache"/> in passes of <paramref name="chunk"/>; all their logits.</summary>
    internal static float[] Decode(ForwardRunner runner, KvCache cache, int[] tokens, int start, int chunk)
    {
        var pieces = new List<float>();
        for (int at = start; at < tokens.Length; at += chunk)
        {
            int[] part = tokens[at..Math.Min(tokens.Length, at + chunk)];
            using ForwardOutput step = runner.Run(new ForwardInput { TokenIds = part, StartPosition = at, Cache = cache, AllLogits = true });
            pieces.AddRange(TestModels.ToArray(step.Logits));
        }
        return [.. pieces];
    }
}
