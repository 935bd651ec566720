using QuickSilver.Engine.Kernels;

namespace QuickSilver.Engine.Tests.Kernels;

/// <summary>The decode row kernels against their scalar float64 references, on random rows with ragged lengths.</summary>
public sealed class RowKernelTests
{
    private static float[] Random(int n, int seed, float scale = 1f)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)((r.NextDouble() * 2) - 1) * scale).ToArray();
    }

    private static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])), $"[{i}] expected {expected[i]}, got {actual[i]}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(33)]
    [InlineData(64)]
    [InlineData(1000)]
    public void Dot_matches_reference(int n)
    {
        float[] a = Random(n, 1), b = Random(n, 2);
        Assert.Equal(RowOpsReference.Dot(a, b), RowOps.Dot(a, b), 4);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(45)]
    [InlineData(1024)]
    public void Norms_match_reference(int n)
    {
        float[] x = Random(n, 3, 4), w = Random(n, 4), b = Random(n, 5);
        var y = new float[n];
        RowOps.RmsNorm(x, w, 1e-5, y);
        Close(RowOpsReference.RmsNorm(x, w, 1e-5), y, 1e-5f);
        RowOps.LayerNorm(x, w, b, 1e-5, y);
        Close(RowOpsReference.LayerNorm(x, w, b, 1e-5), y, 1e-5f);
        // In place, as q/k norms and post-norms use it.
        var inPlace = x.ToArray();
        RowOps.RmsNorm(inPlace, w, 1e-5, inPlace);
        Close(RowOpsReference.RmsNorm(x, w, 1e-5), inPlace, 1e-5f);
    }

    [Fact]
    public void Gated_activations_match_reference()
    {
        float[] gate = Random(77, 6, 6), up = Random(77, 7, 2);
        var y = new float[77];
        RowOps.SiluMul(gate, up, y);
        Close(RowOpsReference.SiluMul(gate, up), y, 1e-5f);
        RowOps.GeluTanhMul(gate, up, y);
        Close(gate.Select((g, i) => (float)(RowOpsReference.GeluTanh(g) * up[i])).ToArray(), y, 1e-5f);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(77)]
    [InlineData(256)]
    public void GeluTanh_rows_match_reference_and_do_not_depend_on_position(int n)
    {
        // Wide inputs reach both saturations (tanh → ±1) and the cubic's overflow; values near 0 test the small-u side.
        float[] x = Random(n, 11, 12);
        if (n > 3) (x[0], x[1], x[2]) = (0f, 1e-6f, -1e-6f);
        var y = x.ToArray();
        RowOps.GeluTanh(y);
        for (int i = 0; i < n; i++)
        {
            double expected = RowOpsReference.GeluTanh(x[i]);
            Assert.True(Math.Abs(expected - y[i]) <= 1e-6 * Math.Max(1, Math.Abs(expected)), $"[{i}] gelu({x[i]}) expected {expected}, got {y[i]}");
            // The same element alone, or at another offset of a longer row, gives the same bits (batched = alone).
            var alone = new[] { x[i] };
            RowOps.GeluTanh(alone);
            Assert.Equal(BitConverter.SingleToInt32Bits(y[i]), BitConverter.SingleToInt32Bits(alone[0]));
            var shifted = new float[n + 5];
            x.CopyTo(shifted, 5);
            RowOps.GeluTanh(shifted);
            Assert.Equal(BitConverter.SingleToInt32Bits(y[i]), BitConverter.SingleToInt32Bits(shifted[i + 5]));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(172)] // stories260K's MLP width: ten vectors and a ragged tail
    public void SiluMul_rows_match_reference_and_do_not_depend_on_position(int n)
    {
        float[] gate = Random(n, 12, 30), up = Random(n, 13, 2);
        if (n > 3) (gate[0], gate[1], gate[2]) = (0f, 1e-6f, -100f);
        var y = new float[n];
        RowOps.SiluMul(gate, up, y);
        var expected = RowOpsReference.SiluMul(gate, up);
        for (int i = 0; i < n; i++)
        {
            Assert.True(Math.Abs(expected[i] - y[i]) <= 1e-6 * Math.Max(1, Math.Abs(expected[i])), $"[{i}] silu({gate[i]})·{up[i]} expected {expected[i]}, got {y[i]}");
            var alone = new float[1];
            RowOps.SiluMul([gate[i]], [up[i]], alone);
            Assert.Equal(BitConverter.SingleToInt32Bits(y[i]), BitConverter.SingleToInt32Bits(alone[0]));
        }
    }

    [Fact]
    public void GeluTanh_rows_keep_special_values()
    {
        float[] x = [float.PositiveInfinity, float.NegativeInfinity, float.NaN, -1e30f, 1e30f, -20f, 0f, -0f];
        var y = x.ToArray();
        RowOps.GeluTanh(y);
        Assert.Equal(float.PositiveInfinity, y[0]);
        Assert.True(float.IsNaN(y[1])); // −∞ · 0, as 0.5·x·(1 + tanh u) gives
        Assert.True(float.IsNaN(y[2]));
        Assert.Equal(0f, y[3]);
        Assert.Equal(1e30f, y[4]);
        Assert.Equal(0f, y[5]);
        Assert.Equal(0f, y[6]);
        Assert.Equal(0f, y[7]);
    }

    [Theory]
    [InlineData(16, 16)]
    [InlineData(16, 12)] // partial rotary: the tail passes through
    public void RotateHalf_matches_reference(int width, int rotated)
    {
        float[] head = Random(width, 8), cos = Random(rotated, 9), sin = Random(rotated, 10);
        var y = head.ToArray();
        RowOps.RotateHalf(y, cos, sin, rotated);
        Close(RowOpsReference.RotateHalf(head, cos, sin, rotated), y, 1e-6f);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(5, 37, 1)]
    [InlineData(192, 64, 1)]
    [InlineData(300, 512, 2)] // above the fork threshold: two row shares
    public void FloatMatVec_matches_reference(int rows, int columns, int threads)
    {
        float[] w = Random(rows * columns, 11), x = Random(columns, 12);
        var y = new float[rows];
        FloatMatVec.Multiply(w, rows, columns, x, y, threads);
        Close(RowOpsReference.MatVec(w, rows, columns, x), y, 1e-5f);
    }

    [Theory]
    [InlineData(4, 2, 8, 10, null, 0f, false, 1)]
    [InlineData(4, 4, 16, 33, null, 0f, true, 1)]
    [InlineData(8, 2, 8, 40, 6, 0f, false, 1)]     // sliding window
    [InlineData(4, 2, 16, 20, null, 5f, true, 1)]  // soft-cap
    [InlineData(16, 4, 64, 300, null, 0f, false, 2)] // heads split over threads
    [InlineData(4, 2, 64, 37, 20, 0f, true, 1)]      // 16-key score steps, masks among them, a ragged 5-key tail
    [InlineData(4, 4, 128, 48, null, 3f, false, 1)]  // 128-wide heads in registers, soft-cap after the 16-key dots
    [InlineData(2, 1, 48, 16, null, 0f, false, 1)]   // 16-value strides only (no 64-value one); values take the general loop
    public void Attention_matches_reference(int heads, int kvHeads, int headDim, int count, int? window, float softCap, bool gaps, int threads)
    {
        int capacity = count + 3;
        float[] q = Random(heads * headDim, 13, 2), k = Random(kvHeads * capacity * headDim, 14, 2), v = Random(kvHeads * capacity * headDim, 15);
        // With gaps the entries are out of order and some are later than the query: those must be masked.
        long[] positions = Enumerable.Range(0, count).Select(j => gaps ? (long)((j * 7) % (count + 4)) : j).ToArray();
        long query = gaps ? count - 1 : count - 1;
        var expected = RowOpsReference.Attend(q, k, v, positions, count, capacity, heads, kvHeads, headDim, query, 1 / Math.Sqrt(headDim), window, softCap);
        var actual = new float[heads * headDim];
        unsafe
        {
            fixed (float* pk = k)
            fixed (float* pv = v)
            fixed (long* pp = positions)
                SingleQueryAttention.Attend(q, pk, pv, gaps ? pp : null, count, capacity, heads, kvHeads, headDim, query,
                    1 / Math.Sqrt(headDim), window, softCap, actual, threads);
        }
        Close(expected, actual, 1e-5f);
    }

    [Theory]
    [InlineData(64, 48)]
    [InlineData(128, 32)]
    [InlineData(32, 16)]
    [InlineData(80, 64)]
    public void Wide_attention_loops_give_the_bits_of_the_key_by_key_loops(int headDim, int count)
    {
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported) return;
        float[] q = Random(headDim, 21, 2), k = Random(count * headDim, 22, 2), v = Random(count * headDim, 23);
        var scores = new float[count];
        unsafe
        {
            fixed (float* pq = q)
            fixed (float* pk = k)
            fixed (float* ps = scores)
                SingleQueryAttention.KeyDots16(pq, pk, headDim, count, ps);
        }
        for (int j = 0; j < count; j++)
            Assert.Equal(BitConverter.SingleToInt32Bits(RowOps.Dot(q, k.AsSpan(j * headDim, headDim))), BitConverter.SingleToInt32Bits(scores[j]));
        if (headDim is not (64 or 128)) return;
        scores[3] = 0; // a zero weight is skipped by both
        var expected = new float[headDim];
        for (int j = 0; j < count; j++)
            if (scores[j] != 0) RowOps.AddScaled(expected, scores[j], v.AsSpan(j * headDim, headDim));
        var actual = Enumerable.Repeat(float.NaN, headDim).ToArray();
        unsafe
        {
            fixed (float* ps = scores)
            fixed (float* pv = v)
            fixed (float* po = actual)
                SingleQueryAttention.AddScaledValues(ps, count, pv, headDim, po);
        }
        for (int i = 0; i < headDim; i++) Assert.Equal(BitConverter.SingleToInt32Bits(expected[i]), BitConverter.SingleToInt32Bits(actual[i]));
    }

    [Fact]
    public void Attention_with_every_key_masked_gives_zeros()
    {
        float[] q = Random(8, 16), k = Random(8, 17), v = Random(8, 18);
        long[] positions = [5];
        var actual = Enumerable.Repeat(float.NaN, 8).ToArray();
        unsafe
        {
            fixed (float* pk = k)
            fixed (float* pv = v)
            fixed (long* pp = positions)
                SingleQueryAttention.Attend(q, pk, pv, pp, 1, 1, 1, 1, 8, 4, 0.3, null, 0, actual, 1);
        }
        Assert.All(actual, x => Assert.Equal(0f, x));
    }

    [Fact]
    public void Bad_shapes_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => FloatMatVec.Multiply(new float[5], 2, 3, new float[3], new float[2], 1));
        Assert.Throws<ArgumentException>(() => FloatMatVec.Multiply(new float[6], 2, 3, new float[2], new float[2], 1));
        Assert.Throws<ArgumentException>(() => RowOps.RmsNorm(new float[4], new float[3], 1e-5, new float[4]));
        unsafe
        {
            Assert.Throws<ArgumentException>(() => SingleQueryAttention.Attend(new float[6], null, null, null, 0, 0, 3, 2, 2, 0, 1, null, 0, new float[6], 1));
        }
    }
}
