using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using QuickSilver.Engine.Kernels;

namespace QuickSilver.Engine.Tests.Kernels;

/// <summary>
/// The 16-key block loops of <see cref="SingleQueryAttention"/> (SingleQueryAttention.Blocks.cs, KvLanes.cs): attention over
/// every K/V storage type, head widths 8 to 128, grouped heads and ragged key counts matches the float64 reference; a
/// key's score does not depend on how many keys there are; 16-bit heads of 16·m values keep the bits of the key-by-key
/// kernels; the half widening is exact for all 65,536 codes; the vectorized softmax equals RowOps.Softmax bit for bit.
/// </summary>
public sealed unsafe class BlockedAttentionTests
{
    private static bool Avx512 => Avx512BW.IsSupported && KernelSettings.Best == KernelIsa.Avx512;

    private static float[] Random(int n, int seed, float scale = 1f)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)((r.NextDouble() * 2) - 1) * scale).ToArray();
    }

    /// <summary>Stored elements as bytes, and their exact float values.</summary>
    private static (byte[] Stored, float[] Values) Store(KvCacheType storage, float[] values)
    {
        if (storage == KvCacheType.Float32) return (values.SelectMany(BitConverter.GetBytes).ToArray(), values);
        bool bfloat16 = storage == KvCacheType.BFloat16;
        ushort[] codes = [.. values.Select(v => HalfKvRows.Narrow(bfloat16, v))];
        return (codes.SelectMany(BitConverter.GetBytes).ToArray(), [.. codes.Select(c => Widen(bfloat16, c))]);
    }

    private static float Widen(bool bfloat16, ushort code) => bfloat16 ? BitConverter.Int32BitsToSingle(code << 16) : (float)BitConverter.UInt16BitsToHalf(code);

    public static TheoryData<KvCacheType, int, int, int> Shapes()
    {
        var data = new TheoryData<KvCacheType, int, int, int>();
        foreach (var storage in new[] { KvCacheType.Float32, KvCacheType.Float16, KvCacheType.BFloat16 })
            foreach (int headDim in new[] { 8, 16, 32, 64, 128 })
                foreach (var (heads, kvHeads) in new[] { (8, 4), (4, 1) })
                    data.Add(storage, headDim, heads, kvHeads);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Attention_matches_the_float64_reference_for_ragged_key_counts(KvCacheType storage, int headDim, int heads, int kvHeads)
    {
        foreach (int count in new[] { 1, 7, 15, 16, 17, 33, 100 })
            foreach (var (window, softCap, gaps) in new (int?, float, bool)[] { (null, 0f, false), (9, 0f, false), (null, 4f, true) })
            {
                int capacity = count + 5, seed = (count * 31) + headDim;
                float[] q = Random(heads * headDim, seed, 2);
                var (k, kw) = Store(storage, Random(kvHeads * capacity * headDim, seed + 1, 2));
                var (v, vw) = Store(storage, Random(kvHeads * capacity * headDim, seed + 2));
                long[] positions = [.. Enumerable.Range(0, count).Select(j => gaps ? (long)((j * 7) % (count + 4)) : j)];
                long query = count - 1;
                var expected = RowOpsReference.Attend(q, kw, vw, positions, count, capacity, heads, kvHeads, headDim, query, 1 / Math.Sqrt(headDim), window, softCap);
                var actual = new float[heads * headDim];
                fixed (byte* pk = k)
                fixed (byte* pv = v)
                fixed (long* pp = positions)
                    SingleQueryAttention.Attend(q, storage, pk, pv, gaps ? pp : null, count, capacity, heads, kvHeads, headDim, query,
                        1 / Math.Sqrt(headDim), window, softCap, actual, 1);
                for (int i = 0; i < expected.Length; i++)
                    Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f * Math.Max(1, Math.Abs(expected[i])),
                        $"{storage} hs {headDim} count {count} window {window} cap {softCap} [{i}]: expected {expected[i]}, got {actual[i]}");
            }
    }

    [Theory]
    [InlineData(KvCacheType.Float32, 8)]
    [InlineData(KvCacheType.Float16, 8)]
    [InlineData(KvCacheType.BFloat16, 8)]
    [InlineData(KvCacheType.Float16, 16)]
    [InlineData(KvCacheType.BFloat16, 16)]
    [InlineData(KvCacheType.Float16, 64)]
    [InlineData(KvCacheType.BFloat16, 128)]
    public void A_keys_score_and_the_output_do_not_depend_on_the_other_rows_of_the_call(KvCacheType storage, int headDim)
    {
        if (!Avx512) return;
        const int most = 50;
        float[] q = Random(headDim, 5, 2);
        var (k, _) = Store(storage, Random(most * headDim, 6, 2));
        var all = Scores(storage, q, k, headDim, most);
        for (int count = 1; count < most; count++)
        {
            var some = Scores(storage, q, k, headDim, count);
            for (int j = 0; j < count; j++) Assert.Equal(BitConverter.SingleToInt32Bits(all[j]), BitConverter.SingleToInt32Bits(some[j]));
            if (storage != KvCacheType.Float16) continue;
            var scaled = Scores(storage, q, k, headDim, count, scaledHalves: true);
            for (int j = 0; j < count; j++) Assert.Equal(BitConverter.SingleToInt32Bits(all[j]), BitConverter.SingleToInt32Bits(scaled[j]));
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    public void Float32_blocks_keep_the_bits_of_the_key_by_key_dot(int headDim)
    {
        if (!Avx512) return;
        float[] q = Random(headDim, 21, 2);
        float[] keys = Random(37 * headDim, 22, 2);
        var (k, _) = Store(KvCacheType.Float32, keys);
        var scores = Scores(KvCacheType.Float32, q, k, headDim, 37);
        if (headDim != 16) return; // 8-wide keys are summed by the block tree only (RowOps.Dot sums 8 values another way)
        for (int j = 0; j < 37; j++)
            Assert.Equal(BitConverter.SingleToInt32Bits(RowOps.Dot(q, keys.AsSpan(j * headDim, headDim))), BitConverter.SingleToInt32Bits(scores[j]));
    }

    [Theory]
    [InlineData(8, 8, 4)]
    [InlineData(16, 4, 4)]
    [InlineData(16, 8, 2)]
    public void Float32_ragged_blocks_read_in_place_give_the_scratch_copys_bits_whatever_lies_past_the_count(int headDim, int heads, int kvHeads)
    {
        foreach (int count in new[] { 1, 7, 16, 17, 40, 100 })
        {
            // Tight: capacity = count, so the last block goes through the scratch copy. Roomy: the same entries in a buffer
            // with room for whole blocks, garbage (NaN, ∞, huge) past count, read in place.
            int roomy = count + 37;
            float[] q = Random(heads * headDim, count, 2);
            float[] tightKeys = Random(kvHeads * count * headDim, count + 1, 2), tightValues = Random(kvHeads * count * headDim, count + 2);
            float[] roomyKeys = new float[kvHeads * roomy * headDim], roomyValues = new float[roomyKeys.Length];
            float[] garbage = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 3e38f, -1e-40f];
            for (int i = 0; i < roomyKeys.Length; i++) (roomyKeys[i], roomyValues[i]) = (garbage[i % 5], garbage[(i + 2) % 5]);
            for (int g = 0; g < kvHeads; g++)
            {
                Array.Copy(tightKeys, g * count * headDim, roomyKeys, g * roomy * headDim, count * headDim);
                Array.Copy(tightValues, g * count * headDim, roomyValues, g * roomy * headDim, count * headDim);
            }
            float[] tight = new float[heads * headDim], inPlace = new float[heads * headDim];
            fixed (float* tk = tightKeys)
            fixed (float* tv = tightValues)
            fixed (float* rk = roomyKeys)
            fixed (float* rv = roomyValues)
            {
                SingleQueryAttention.Attend(q, tk, tv, null, count, count, heads, kvHeads, headDim, count - 1, 0.25, null, 0, tight, 1);
                SingleQueryAttention.Attend(q, rk, rv, null, count, roomy, heads, kvHeads, headDim, count - 1, 0.25, null, 0, inPlace, 1);
            }
            for (int i = 0; i < tight.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(tight[i]) == BitConverter.SingleToInt32Bits(inPlace[i]), $"count {count} [{i}]: {tight[i]} vs {inPlace[i]}");
        }
    }

    private static float[] Scores(KvCacheType storage, float[] q, byte[] k, int headDim, int count, bool scaledHalves = false)
    {
        var scores = new float[count];
        var scratch = new byte[16 * headDim * 4];
        var scaledQuery = new float[headDim];
        fixed (float* pq = q)
        fixed (float* psq = scaledQuery)
        fixed (byte* pk = k)
        fixed (float* ps = scores)
        fixed (byte* sc = scratch)
        {
            if (storage == KvCacheType.Float32) SingleQueryAttention.ScoreBlocks<Float32Lanes>(pq, pk, headDim, count, ps, sc);
            else if (storage == KvCacheType.BFloat16) SingleQueryAttention.ScoreBlocks<BFloat16Lanes>(pq, pk, headDim, count, ps, sc);
            else if (!scaledHalves) SingleQueryAttention.ScoreBlocks<FiniteHalfLanes>(pq, pk, headDim, count, ps, sc);
            else
            {
                // The query times 2^112 against k·2^−112: the same products, so the same bits as the widened keys.
                Assert.True(SingleQueryAttention.ScaleQuery(pq, headDim, psq));
                SingleQueryAttention.ScoreBlocks<ScaledHalfLanes>(psq, pk, headDim, count, ps, sc);
            }
        }
        return scores;
    }

    [Theory]
    [InlineData(false, 16, 37)]
    [InlineData(true, 32, 16)]
    [InlineData(false, 64, 70)]
    [InlineData(true, 128, 5)]
    [InlineData(false, 48, 20)]
    public void Sixteen_bit_heads_of_16m_values_keep_the_bits_of_the_key_by_key_kernels(bool bfloat16, int headDim, int count)
    {
        if (!Avx512) return;
        var storage = bfloat16 ? KvCacheType.BFloat16 : KvCacheType.Float16;
        float[] q = Random(headDim, 7, 2);
        var (k, _) = Store(storage, Random(count * headDim, 8, 2));
        var (v, _) = Store(storage, Random(count * headDim, 9));
        var scores = Scores(storage, q, k, headDim, count);
        fixed (float* pq = q)
        fixed (byte* pk = k)
            for (int j = 0; j < count; j++)
                Assert.Equal(BitConverter.SingleToInt32Bits(HalfKvRows.Dot(KernelIsa.Avx512, bfloat16, pq, (ushort*)pk + ((long)j * headDim), headDim)), BitConverter.SingleToInt32Bits(scores[j]));
        if (headDim is not (32 or 64 or 128)) return;
        float[] p = Random(count + 16, 10);
        p[count / 2] = 0; // skipped by both
        var expected = new float[headDim];
        var actual = Enumerable.Repeat(float.NaN, headDim).ToArray();
        var scratch = new byte[16 * headDim * 2];
        fixed (float* pp = p)
        fixed (byte* pv = v)
        fixed (float* pe = expected)
        fixed (float* pa = actual)
        fixed (byte* sc = scratch)
        {
            for (int j = 0; j < count; j++) if (p[j] != 0) HalfKvRows.AddScaled(KernelIsa.Avx512, bfloat16, pe, p[j], (ushort*)pv + ((long)j * headDim), headDim);
            if (bfloat16) SingleQueryAttention.AddValueBlocks<BFloat16Lanes>(pp, count, pv, headDim, pa, sc);
            else SingleQueryAttention.AddValueBlocks<FiniteHalfLanes>(pp, count, pv, headDim, pa, sc);
        }
        for (int i = 0; i < headDim; i++) Assert.Equal(BitConverter.SingleToInt32Bits(expected[i]), BitConverter.SingleToInt32Bits(actual[i]));
        if (bfloat16) return;
        // Weights times 2^112 against v·2^−112 (what Attend runs): the same bits again.
        float[] scaled = [.. p.Select(x => x * 5.192297e33f)];
        var viaScaled = Enumerable.Repeat(float.NaN, headDim).ToArray();
        fixed (float* pp = scaled)
        fixed (byte* pv = v)
        fixed (float* pa = viaScaled)
        fixed (byte* sc = scratch)
            SingleQueryAttention.AddValueBlocks<ScaledHalfLanes>(pp, count, pv, headDim, pa, sc);
        for (int i = 0; i < headDim; i++) Assert.Equal(BitConverter.SingleToInt32Bits(expected[i]), BitConverter.SingleToInt32Bits(viaScaled[i]));
    }

    [Fact]
    public void Half_widening_is_exact_for_every_code()
    {
        if (!Avx512) return;
        var codes = new ushort[65536];
        for (int i = 0; i < codes.Length; i++) codes[i] = (ushort)i;
        fixed (ushort* pc = codes)
            for (int i = 0; i < codes.Length; i += 16)
            {
                var exact = ExactHalfLanes.Load((byte*)pc, i);
                var finite = FiniteHalfLanes.Load((byte*)pc, i);
                var exactScaled = ExactScaledHalfLanes.Load((byte*)pc, i) * Vector512.Create(5.192297e33f);
                var scaled = ScaledHalfLanes.Load((byte*)pc, i) * Vector512.Create(5.192297e33f);
                bool special = FiniteHalfLanes.AnySpecial((byte*)(pc + (i & ~31)), 32);
                Assert.Equal(((i & 0x7C00) == 0x7C00), special);
                for (int l = 0; l < 16; l++)
                {
                    float expected = (float)BitConverter.UInt16BitsToHalf(codes[i + l]);
                    if (float.IsNaN(expected))
                    {
                        Assert.True(float.IsNaN(exact.GetElement(l)) && float.IsNaN(exactScaled.GetElement(l)), $"{i + l:X4}");
                        continue;
                    }
                    Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(exact.GetElement(l)));
                    Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(exactScaled.GetElement(l)));
                    if (float.IsInfinity(expected)) continue;
                    Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(finite.GetElement(l)));
                    Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(scaled.GetElement(l)));
                }
            }
    }

    [Fact]
    public void The_special_code_scan_finds_one_infinity_or_NaN_anywhere_in_a_block()
    {
        if (!Avx512) return;
        foreach (int count in new[] { 32, 64, 96, 128, 1024 })
        {
            ushort[] codes = [.. Random(count, count).Select(v => HalfKvRows.Narrow(false, v * 60000f))];
            fixed (ushort* pc = codes) Assert.False(FiniteHalfLanes.AnySpecial((byte*)pc, count));
            foreach (ushort special in new ushort[] { 0x7C00, 0xFC00, 0x7E00, 0xFFFF, 0x7C01 })
                for (int at = 0; at < count; at += 7)
                {
                    ushort saved = codes[at];
                    codes[at] = special;
                    fixed (ushort* pc = codes) Assert.True(FiniteHalfLanes.AnySpecial((byte*)pc, count), $"count {count}, {special:X4} at {at}");
                    codes[at] = saved;
                }
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(64)]
    public void An_infinite_half_value_under_a_masked_key_does_not_reach_the_output(int headDim)
    {
        // An entry later than the query (a rolled-back draft, say) is masked: its weight is 0, and 0·∞ must not make NaN.
        const int count = 20, masked = 13;
        float[] q = Random(headDim, 1, 2);
        var (k, kw) = Store(KvCacheType.Float16, Random(count * headDim, 2, 2));
        float[] raw = Random(count * headDim, 3);
        for (int i = 0; i < headDim; i++) raw[(masked * headDim) + i] = i % 2 == 0 ? float.PositiveInfinity : 1e6f;
        var (v, vw) = Store(KvCacheType.Float16, raw);
        long[] positions = [.. Enumerable.Range(0, count).Select(j => j == masked ? 100L : j)];
        for (int i = 0; i < headDim; i++) vw[(masked * headDim) + i] = 0; // the reference skips it the same way
        var expected = RowOpsReference.Attend(q, kw, vw, positions, count, count, 1, 1, headDim, count - 1, 1 / Math.Sqrt(headDim), null, 0);
        var actual = new float[headDim];
        fixed (byte* pk = k)
        fixed (byte* pv = v)
        fixed (long* pp = positions)
            SingleQueryAttention.Attend(q, KvCacheType.Float16, pk, pv, pp, count, count, 1, 1, headDim, count - 1, 1 / Math.Sqrt(headDim), null, 0, actual, 1);
        for (int i = 0; i < headDim; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f, $"[{i}] expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void Softmax_matches_a_float64_softmax()
    {
        var r = new Random(4);
        foreach (int n in new[] { 1, 5, 8, 15, 16, 17, 40, 129 })
        {
            float[] x = [.. Enumerable.Range(0, n).Select(_ => r.Next(5) == 0 ? float.NegativeInfinity : (float)(r.NextDouble() * 40) - 20)];
            x[r.Next(n)] = 3f; // one finite entry at least
            double max = x.Max(), sum = x.Sum(v => Math.Exp(v - max));
            var actual = new float[(n + 15) & ~15]; // the kernel's buffers are padded to whole vectors
            x.CopyTo(actual, 0);
            fixed (float* pa = actual) Assert.True(SingleQueryAttention.Softmax(pa, n));
            for (int i = 0; i < n; i++)
            {
                double expected = Math.Exp(x[i] - max) / sum;
                // x − max is rounded to float first (half an ulp of up to 40: ~2e-6 relative after exp), as in any float softmax.
                Assert.True(Math.Abs(expected - actual[i]) <= (5e-6 * expected) + 1e-30, $"n {n} [{i}]: {expected} vs {actual[i]}");
                if (float.IsNegativeInfinity(x[i])) Assert.Equal(0f, actual[i]);
            }
            for (int i = n; i < actual.Length; i++) Assert.Equal(0f, actual[i]);
        }
        float[] none = new float[16];
        none[0] = none[1] = float.NegativeInfinity;
        fixed (float* pn = none) Assert.False(SingleQueryAttention.Softmax(pn, 2));
        Assert.All(none, x => Assert.Equal(0f, x));
    }

    [Fact]
    public void The_exponential_is_within_2_ulp_of_exp_and_exact_where_it_must_be()
    {
        if (!Avx512) return;
        var r = new Random(5);
        for (int t = 0; t < 20000; t += 16)
        {
            var x = Vector512.Create([.. Enumerable.Range(0, 16).Select(_ => (float)(-r.NextDouble() * 87.3))]);
            var e = SingleQueryAttention.ExpNonPositive(x);
            for (int l = 0; l < 16; l++)
            {
                float expected = (float)Math.Exp(x.GetElement(l));
                Assert.True(Math.Abs(BitConverter.SingleToInt32Bits(expected) - BitConverter.SingleToInt32Bits(e.GetElement(l))) <= 2, $"exp({x.GetElement(l):R}): {expected:R} vs {e.GetElement(l):R}");
            }
        }
        var special = SingleQueryAttention.ExpNonPositive(Vector512.Create([0f, -0f, float.NegativeInfinity, float.NaN, -100f, -87.4f, -1e-30f, -0.5f, -1f, -2f, -10f, -50f, -80f, -86f, -87f, -87.2f]));
        Assert.Equal(1f, special.GetElement(0));
        Assert.Equal(1f, special.GetElement(1));
        Assert.Equal(0f, special.GetElement(2));
        Assert.True(float.IsNaN(special.GetElement(3)));
        Assert.Equal(0f, special.GetElement(4));
        Assert.Equal(0f, special.GetElement(5));
        Assert.Equal(1f, special.GetElement(6));
    }
}
