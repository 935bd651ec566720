using QuickSilver.Engine.Runtime;
using TorchSharp;

namespace QuickSilver.Engine.Tests.Runtime;

public sealed class PackedKvCacheTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void A_token_packed_alone_or_with_later_tokens_stores_the_same_values(int bits)
    {
        // Quantization groups run along the head dimension of one entry, never across tokens: an entry's stored K/V
        // cannot depend on the tokens written with it (issue 13's suspected leak).
        using var scope = torch.NewDisposeScope();
        const int kvHeads = 2, headDim = 16, n = 7;
        var keys = torch.randn(1, kvHeads, n, headDim, generator: new torch.Generator(5));
        var values = torch.randn(1, kvHeads, n, headDim, generator: new torch.Generator(6));
        using var together = new LayerKvCache(kvHeads, headDim, 64, 8, torch.CPU, groupSize: 8);
        var (kt, vt, _) = together.Update(keys, values, TensorScalars.Range(n, torch.int64), 0, Enumerable.Repeat(bits, n).ToArray());
        using var alone = new LayerKvCache(kvHeads, headDim, 64, 8, torch.CPU, groupSize: 8);
        for (int i = 0; i < n; i++)
        {
            var (ka, va, _) = alone.Update(keys.narrow(2, i, 1), values.narrow(2, i, 1), torch.tensor(new long[] { i }), null, [bits]);
            Assert.True(ka.narrow(2, i, 1).eq(kt.narrow(2, i, 1)).all().item<bool>());
            Assert.True(va.narrow(2, i, 1).eq(vt.narrow(2, i, 1)).all().item<bool>());
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(4)]
    [InlineData(2)]
    public void Packed_entries_round_trip_within_the_quantizer_bound_and_shrink_memory(int bits)
    {
        using var scope = torch.NewDisposeScope();
        const int kvHeads = 2, headDim = 16, n = 10;
        using var full = new LayerKvCache(kvHeads, headDim, 64, 8, torch.CPU, groupSize: 8);
        using var packed = new LayerKvCache(kvHeads, headDim, 64, 8, torch.CPU, groupSize: 8);
        var keys = torch.randn(1, kvHeads, n, headDim, generator: new torch.Generator(3));
        var values = torch.randn(1, kvHeads, n, headDim, generator: new torch.Generator(4));
        var positions = TensorScalars.Range(n, torch.int64);
        full.Update(keys, values, positions, 0);
        var (k, v, p) = packed.Update(keys, values, positions, 0, Enumerable.Repeat(bits, n).ToArray());

        Assert.Equal(n, packed.Count);
        Assert.Equal(n, packed.PackedCount(bits));
        Assert.Equal(Enumerable.Range(0, n).Select(x => (long)x), p.data<long>().ToArray());
        foreach (var (original, restored) in new[] { (keys, k), (values, v) })
        {
            var groups = original.reshape(1, kvHeads, n, 2, 8);
            // Half a step, with the step rounded to float16 (relative error 2^-11) and the minimum rounded likewise.
            var range = groups.amax([-1]) - groups.amin([-1]);
            var bound = TensorScalars.Plus(TensorScalars.Sum(TensorScalars.Times(TensorScalars.DividedBy(range, (1 << bits) - 1), 0.5 + 2e-3), TensorScalars.Times(groups.abs().amax([-1]), 1e-3)), 1e-4).unsqueeze(-1);
            var error = (restored - original).abs().reshape(1, kvHeads, n, 2, 8);
            Assert.True((error <= bound).all().item<bool>());
        }
        // Codes take bits/32 of the floats; float16 scales and minima add 2 halves per 8-element group per tensor.
        double expectedRatio = (2.0 * kvHeads * headDim * bits / 8 + 4.0 * kvHeads * 2 * 2 + 8) / (2.0 * kvHeads * headDim * 4 + 8);
        Assert.Equal(expectedRatio, (double)packed.UsedBytes / full.UsedBytes, 6);
        Assert.True(packed.UsedBytes < full.UsedBytes);
    }

    [Fact]
    public void Mixed_precision_entries_keep_their_positions_and_truncate_by_position()
    {
        using var scope = torch.NewDisposeScope();
        using var cache = new LayerKvCache(1, 8, 32, 4, torch.CPU, groupSize: 8);
        var keys = torch.randn(1, 1, 6, 8);
        cache.Update(keys, keys, TensorScalars.Range(6, torch.int64), 0, [32, 8, 4, 2, 32, 8]);
        Assert.Equal(6, cache.Count);
        Assert.False(cache.IsContiguousPrefix);
        var positions = cache.View().Positions.data<long>().ToArray();
        Assert.Equal(new long[] { 0, 1, 2, 3, 4, 5 }, positions.OrderBy(x => x));
        cache.TruncateFrom(3);
        Assert.Equal(3, cache.Count);
        Assert.Equal(new long[] { 0, 1, 2 }, cache.View().Positions.data<long>().ToArray().OrderBy(x => x));
    }

    [Fact]
    public void A_decode_step_attends_over_the_stored_values_without_dequantizing_earlier_entries_again()
    {
        using var scope = torch.NewDisposeScope();
        const int kvHeads = 2, headDim = 16, steps = 6;
        using var cache = new LayerKvCache(kvHeads, headDim, 64, 2, torch.CPU, groupSize: 8);
        var keys = torch.randn(1, kvHeads, steps, headDim, generator: new torch.Generator(9));
        var values = torch.randn(1, kvHeads, steps, headDim, generator: new torch.Generator(10));
        int[] bits = [32, 8, 8, 4, 32, 8];
        torch.Tensor? before = null;
        for (int t = 0; t < steps; t++)
        {
            var (k, v, p) = cache.Update(keys.narrow(2, t, 1), values.narrow(2, t, 1), torch.tensor(new long[] { t }), t, [bits[t]]);
            Assert.Equal(t + 1, (int)k.shape[2]);
            // Earlier entries are views of what was stored when they were written: unchanged by this step.
            if (before is not null) Assert.True(k.narrow(2, 0, t).eq(before).all().item<bool>());
            before = k.clone();
            // The newest entry: exact for full precision; for a packed one, the value a lone packing round trip stores.
            var expected = keys.narrow(2, t, 1);
            if (bits[t] < 32)
            {
                using var lone = new LayerKvCache(kvHeads, headDim, 8, 1, torch.CPU, groupSize: 8);
                lone.Update(keys.narrow(2, t, 1), values.narrow(2, t, 1), torch.tensor(new long[] { t }), t, [bits[t]]);
                expected = lone.View().Keys;
                Assert.False(expected.eq(keys.narrow(2, t, 1)).all().item<bool>());
            }
            Assert.True(k.narrow(2, t, 1).eq(expected).all().item<bool>());
            Assert.Equal(t, p[t].item<long>());
        }
        Assert.Equal(4, cache.PackedCount(8) + cache.PackedCount(4));
        Assert.Equal(4L * ((2L * kvHeads * headDim * sizeof(float)) + sizeof(long)), cache.MirrorBytes);
    }
}
