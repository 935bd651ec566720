using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using QuickSilver.Policies;
using QuickSilver.Testing;
using TorchSharp;

namespace QuickSilver.Engine.Tests.Runtime;

/// <summary>
/// The 16-bit K/V cache (<see cref="KvCacheType.Float16"/>, <see cref="KvCacheType.BFloat16"/>): logits track the float32
/// cache within a stated tolerance at prefill and decode, on both decode paths; the two paths read the same stored values;
/// truncation, rollback and prefix copies replay bit for bit; memory halves; bad settings fail naming the option.
/// </summary>
public sealed class HalfKvCacheTests
{
    // Largest |Δlogit| against the float32 cache, relative to the largest |logit| (~11 on this random model, whose sharp
    // attention magnifies K/V rounding): float16 keeps 11 significant bits, bfloat16 8. Measured worst over prefill and
    // 10 decode steps (2026-12-03): float16 3.5e-3, bfloat16 4.0e-2, on both decode paths.
    private const float Float16Tolerance = 1e-2f, BFloat16Tolerance = 1e-1f;

    private static ModelConfig Wide() => TestModels.TinyLlama(layers: 3) with { HiddenSize = 128, HeadDim = 32, IntermediateSize = 200, VocabSize = 72 };

    private static float Tolerance(KvCacheType storage) => storage == KvCacheType.Float16 ? Float16Tolerance : BFloat16Tolerance;

    [Theory]
    [InlineData(KvCacheType.Float16, true)]
    [InlineData(KvCacheType.Float16, false)]
    [InlineData(KvCacheType.BFloat16, true)]
    [InlineData(KvCacheType.BFloat16, false)]
    public void Half_cache_logits_track_the_float32_cache_at_prefill_and_decode(KvCacheType storage, bool decodeRowPath)
    {
        var config = Wide();
        using var model = TransformerModel.Create(RandomCheckpoint.Create(config, 11, 0.3f), torch.CPU);
        var exact = Run(model, KvCacheType.Float32, decodeRowPath, out _);
        var half = Run(model, storage, decodeRowPath, out _);
        float tolerance = Tolerance(storage), worst = 0;
        for (int s = 0; s < exact.Count; s++)
        {
            float scale = Math.Max(1, exact[s].Max(Math.Abs)), delta = TestModels.MaxAbsDiff(exact[s], half[s]) / scale;
            worst = Math.Max(worst, delta);
            Assert.True(delta <= tolerance, $"{storage}, {(s == 0 ? "prefill" : $"decode step {s}")}: max |Δlogit| / max |logit| = {delta} > {tolerance} (max |logit| {scale})");
            // Argmax equal, unless float32's top two are closer than the tolerance (a near-tie either cache may break).
            var sorted = exact[s].OrderDescending().ToArray();
            if (sorted[0] - sorted[1] > 2 * tolerance * scale) Assert.Equal(ArgMax(exact[s]), ArgMax(half[s]));
        }
        Assert.True(worst > 0, "the half cache changed nothing: is it really 16-bit?");
    }

    [Theory]
    [InlineData(KvCacheType.Float16)]
    [InlineData(KvCacheType.BFloat16)]
    public void Row_path_and_tensor_path_attend_over_the_same_stored_values(KvCacheType storage)
    {
        using var model = TransformerModel.Create(RandomCheckpoint.Create(Wide(), 12, 0.3f), torch.CPU);
        var rows = Run(model, storage, decodeRowPath: true, out _);
        var tensors = Run(model, storage, decodeRowPath: false, out _);
        // The paths' projections differ by float rounding, and a decode step's key may then round to the neighbouring 16-bit
        // code on one path: a few such codes, not a different rounding of the whole cache (the half cache's own error).
        for (int s = 0; s < rows.Count; s++)
            Assert.True(TestModels.MaxAbsDiff(rows[s], tensors[s]) <= 1e-3f * Math.Max(1, tensors[s].Max(Math.Abs)), $"step {s}: {TestModels.MaxAbsDiff(rows[s], tensors[s])}");
    }

    [Theory]
    [InlineData(KvCacheType.Float16)]
    [InlineData(KvCacheType.BFloat16)]
    [InlineData(KvCacheType.Float32)]
    public void A_row_append_stores_exactly_what_a_tensor_append_stores(KvCacheType storage)
    {
        const int kvHeads = 2, headDim = 24;
        using var rows = new LayerKvCache(kvHeads, headDim, 16, 2, torch.CPU, storage: storage);
        using var tensors = new LayerKvCache(kvHeads, headDim, 16, 2, torch.CPU, storage: storage);
        var random = new Random(5);
        for (int i = 0; i < 5; i++) // grows twice
        {
            float[] k = [.. Enumerable.Range(0, kvHeads * headDim).Select(_ => (float)((random.NextDouble() * 2) - 1) * (i + 1) * 3)];
            float[] v = [.. Enumerable.Range(0, kvHeads * headDim).Select(_ => (float)((random.NextDouble() * 2) - 1) * 1e-3f)];
            rows.AppendRow(k, v, i);
            using var kt = torch.tensor(k).reshape(1, kvHeads, 1, headDim);
            using var vt = torch.tensor(v).reshape(1, kvHeads, 1, headDim);
            using var p = torch.tensor(new long[] { i });
            tensors.Update(kt, vt, p, i);
        }
        var (rk, rv, _) = rows.View();
        var (tk, tv, _) = tensors.View();
        Assert.Equal(TestModels.ToArray(tk), TestModels.ToArray(rk));
        Assert.Equal(TestModels.ToArray(tv), TestModels.ToArray(rv));
        Assert.True(rows.IsContiguousPrefix);
    }

    [Theory]
    [InlineData(KvCacheType.Float16, true)]
    [InlineData(KvCacheType.BFloat16, false)]
    public void Truncation_rollback_and_prefix_copies_replay_bit_for_bit(KvCacheType storage, bool decodeRowPath)
    {
        using var noGrad = torch.no_grad();
        var config = Wide();
        using var model = TransformerModel.Create(RandomCheckpoint.Create(config, 13, 0.3f), torch.CPU);
        var runner = new ForwardRunner(model) { DecodeRowPath = decodeRowPath };
        var tokens = TestModels.RandomTokens(18, config.VocabSize, seed: 21);
        using var cache = new KvCache(config, 32, torch.CPU, initialCapacity: 4, storage);
        Assert.Equal(storage, cache.Storage);
        runner.Run(new ForwardInput { TokenIds = tokens[..10], Cache = cache }).Dispose();
        var first = Decode(runner, cache, tokens, from: 10);

        // Roll back to position 13 and decode the same tokens again.
        cache.TruncateFrom(13);
        Assert.Equal(13, cache.Length);
        Assert.Equal(13, cache[0].Count);
        var again = Decode(runner, cache, tokens, from: 13);
        for (int i = 0; i < again.Count; i++) Assert.Equal(first[i + 3], again[i]);

        // A prefix copy (the prefix cache's snapshot) reads exactly as the source does.
        using var copy = new KvCache(config, 32, torch.CPU, initialCapacity: 4, storage);
        copy.CopyPrefixFrom(cache, 12);
        var fromCopy = Decode(runner, copy, tokens, from: 12);
        for (int i = 0; i < fromCopy.Count; i++) Assert.Equal(first[i + 2], fromCopy[i]);

        // A cache of another storage type cannot take the prefix: it would not read as the source does.
        using var other = new KvCache(config, 32, torch.CPU, initialCapacity: 4, KvCacheType.Float32);
        var ex = Assert.Throws<ArgumentException>(() => other.CopyPrefixFrom(cache, 12));
        Assert.Contains(storage.ToString(), ex.Message);
    }

    [Fact]
    public void A_half_cache_holds_half_the_bytes_of_keys_and_values()
    {
        var config = Wide();
        using var model = TransformerModel.Create(RandomCheckpoint.Create(config, 14, 0.3f), torch.CPU);
        Run(model, KvCacheType.Float32, decodeRowPath: true, out var exact);
        Run(model, KvCacheType.Float16, decodeRowPath: true, out var half);
        long perLayerEntry32 = (2L * config.NumKvHeads * config.HeadDim * 4) + 8, perLayerEntry16 = (2L * config.NumKvHeads * config.HeadDim * 2) + 8;
        Assert.Equal(config.NumLayers * perLayerEntry32, exact.DensePerToken);
        Assert.Equal(config.NumLayers * perLayerEntry16, half.DensePerToken);
        Assert.Equal(exact.Used / perLayerEntry32 * perLayerEntry16, half.Used);
        Assert.Equal(exact.Allocated / perLayerEntry32 * perLayerEntry16, half.Allocated);
    }

    [Fact]
    public void Bad_kv_cache_types_fail_naming_the_option()
    {
        var bad = new LanguageModelOptions { KvCacheType = (KvCacheType)9 };
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => bad.Validate());
        Assert.Equal(nameof(LanguageModelOptions.KvCacheType), ex.ParamName);
        Assert.Contains("LanguageModelOptions.KvCacheType", ex.Message);
        // Checked before the file is read: a missing file does not hide the bad option.
        ex = Assert.Throws<ArgumentOutOfRangeException>(() => LanguageModel.Load("/nope/model.gguf", bad));
        Assert.Contains("LanguageModelOptions.KvCacheType", ex.Message);
        ex = Assert.Throws<ArgumentOutOfRangeException>(() => new KvCache(TestModels.TinyLlama(1), 8, torch.CPU, 4, (KvCacheType)(-1)));
        Assert.Contains("KvCacheType", ex.Message);
        Assert.Equal(KvCacheType.BFloat16, new LanguageModelOptions { KvCacheType = KvCacheType.BFloat16 }.Clone().KvCacheType);
        Assert.Equal(KvCacheType.Float32, new LanguageModelOptions().KvCacheType);
    }

    [Fact]
    public void Packed_kv_on_a_half_cache_is_rejected_naming_both_settings()
    {
        using var layer = new LayerKvCache(2, 8, 16, 4, torch.CPU, groupSize: 8, storage: KvCacheType.Float16);
        using var keys = torch.randn(1, 2, 3, 8);
        using var values = torch.randn(1, 2, 3, 8);
        using var positions = torch.tensor(new long[] { 0, 1, 2 });
        var ex = Assert.Throws<NotSupportedException>(() => layer.Update(keys, values, positions, 0, [32, 8, 32]));
        Assert.Contains("QuantizeKv", ex.Message);
        Assert.Contains("KvCacheType", ex.Message);
        // Full precision entries are welcome.
        var (k, _, _) = layer.Update(keys, values, positions, 0, [32, 32, 32]);
        Assert.Equal(torch.ScalarType.Float32, k.dtype);
        Assert.Equal(3, layer.Count);
    }

    [Fact]
    public void A_model_loaded_with_a_half_cache_gives_its_sequences_one_and_rejects_packing_policies()
    {
        using var model = LanguageModel.Load(SharedAssets.Stories260KBin, new LanguageModelOptions { KvCacheType = KvCacheType.Float16 });
        Assert.Equal(KvCacheType.Float16, model.KvCacheType);
        using (var session = model.CreateSession(32))
            Assert.Equal(KvCacheType.Float16, session.Cache.Storage);
        var ex = Assert.Throws<ArgumentException>(() => model.CreateSequence(new SequenceOptions { Policy = QuickSilverPolicy.Paper() }));
        Assert.Contains("QuantizeKv", ex.Message);
        Assert.Contains("KvCacheType", ex.Message);
        var noPacking = QuickSilverPolicy.Paper();
        noPacking.Quantization.QuantizeKv = false;
        using var sequence = model.CreateSequence(new SequenceOptions { Policy = noPacking, ContextLength = 32 });
        Assert.Equal(KvCacheType.Float16, ((ModelSequence)sequence).Cache.Storage);
    }

    private sealed record Bytes(long Used, long Allocated, long DensePerToken);

    /// <summary>Prefill of 12 tokens (every row's logits as one list entry), then 10 decode steps; the cache's bytes at the end.</summary>
    private static List<float[]> Run(TransformerModel model, KvCacheType storage, bool decodeRowPath, out Bytes bytes)
    {
        using var noGrad = torch.no_grad();
        var runner = new ForwardRunner(model) { DecodeRowPath = decodeRowPath };
        var tokens = TestModels.RandomTokens(22, model.Config.VocabSize, seed: 31);
        using var cache = new KvCache(model.Config, 40, torch.CPU, initialCapacity: 4, storage); // grows while decoding
        var logits = new List<float[]>();
        using (var prefill = runner.Run(new ForwardInput { TokenIds = tokens[..12], Cache = cache, AllLogits = true }))
            logits.Add(TestModels.ToArray(prefill.Logits));
        logits.AddRange(Decode(runner, cache, tokens, from: 12));
        bytes = new Bytes(cache.UsedBytes, cache.AllocatedBytes, cache.DenseBytesPerToken);
        return logits;
    }

    /// <summary>One step per token from <paramref name="from"/> to the end of <paramref name="tokens"/>.</summary>
    private static List<float[]> Decode(ForwardRunner runner, KvCache cache, int[] tokens, int from)
    {
        using var noGrad = torch.no_grad();
        var logits = new List<float[]>();
        for (int p = from; p < tokens.Length; p++)
        {
            using var output = runner.Run(new ForwardInput { TokenIds = [tokens[p]], StartPosition = p, Cache = cache });
            logits.Add(TestModels.ToArray(output.Logits));
        }
        return logits;
    }

    private static int ArgMax(float[] x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }
}
