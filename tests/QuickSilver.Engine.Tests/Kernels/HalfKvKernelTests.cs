using System.Runtime.InteropServices;
using QuickSilver.Engine.Kernels;
using TorchSharp;

namespace QuickSilver.Engine.Tests.Kernels;

/// <summary>
/// The half K/V row kernels (<see cref="HalfKvRows"/>, the 16-bit overload of <see cref="SingleQueryAttention"/>.Attend):
/// narrowing equals libtorch's bit for bit, every SIMD path equals its scalar reference (ragged tails included), and
/// attention over stored codes equals the float reference over the widened codes.
/// </summary>
public sealed unsafe class HalfKvKernelTests
{
    public static TheoryData<KernelIsa> Paths()
    {
        var data = new TheoryData<KernelIsa> { KernelIsa.Scalar };
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported) data.Add(KernelIsa.Avx2);
        if (System.Runtime.Intrinsics.X86.Avx512BW.IsSupported) data.Add(KernelIsa.Avx512);
        return data;
    }

    private static float[] Random(int n, int seed, float scale = 1f)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)((r.NextDouble() * 2) - 1) * scale).ToArray();
    }

    /// <summary>Values at every scale a cache meets, plus exact ties between two codes (round half to even) and signed zeros.</summary>
    private static float[] Awkward()
    {
        var values = new List<float>();
        var r = new Random(3);
        foreach (float scale in new[] { 1e-7f, 1e-5f, 3e-3f, 0.5f, 7f, 300f, 60000f })
            for (int i = 0; i < 200; i++) values.Add((float)((r.NextDouble() * 2) - 1) * scale);
        values.AddRange([0f, -0f, 1f + (1f / 2048), 1f + (3f / 2048), 1f + (1f / 256), 1f + (3f / 256), -2.5f - (1f / 512), 65504f, 6.1e-5f, 5.96e-8f]);
        return [.. values];
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Narrowing_equals_libtorch_bit_for_bit(bool bfloat16)
    {
        float[] values = Awkward();
        using var t = torch.tensor(values).to(bfloat16 ? torch.bfloat16 : torch.float16);
        ReadOnlySpan<ushort> expected = MemoryMarshal.Cast<byte, ushort>(t.bytes);
        for (int i = 0; i < values.Length; i++)
            Assert.True(expected[i] == HalfKvRows.Narrow(bfloat16, values[i]), $"{values[i]:R}: libtorch {expected[i]:X4}, ours {HalfKvRows.Narrow(bfloat16, values[i]):X4}");
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void AddScaled_equals_its_scalar_reference_bit_for_bit(KernelIsa isa)
    {
        foreach (bool bfloat16 in new[] { false, true })
            foreach (int n in new[] { 1, 7, 8, 15, 16, 17, 33, 64, 70, 128 })
            {
                ushort[] x = [.. Random(n, n, 3).Select(v => HalfKvRows.Narrow(bfloat16, v))];
                float[] expected = Random(n, n + 1), actual = [.. expected];
                fixed (ushort* px = x)
                fixed (float* pe = expected)
                fixed (float* pa = actual)
                {
                    HalfKvRows.AddScaledScalar(bfloat16, pe, 0.37f, px, n);
                    HalfKvRows.AddScaled(isa, bfloat16, pa, 0.37f, px, n);
                }
                Assert.Equal(expected, actual);
                // The reference itself: y + a·widen(x), widened exactly.
                float[] y = Random(n, n + 1);
                for (int i = 0; i < n; i++) Assert.Equal(MathF.FusedMultiplyAdd(0.37f, (float)ToDouble(bfloat16, x[i]), y[i]), expected[i]);
            }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Dot_matches_a_float64_reference(KernelIsa isa)
    {
        foreach (bool bfloat16 in new[] { false, true })
            foreach (int n in new[] { 1, 8, 15, 16, 17, 31, 64, 80, 128 })
            {
                ushort[] k = [.. Random(n, 2 * n, 2).Select(v => HalfKvRows.Narrow(bfloat16, v))];
                float[] q = Random(n, (2 * n) + 1);
                double expected = 0;
                for (int i = 0; i < n; i++) expected += q[i] * ToDouble(bfloat16, k[i]);
                float actual;
                fixed (ushort* pk = k)
                fixed (float* pq = q)
                    actual = HalfKvRows.Dot(isa, bfloat16, pq, pk, n);
                Assert.True(Math.Abs(expected - actual) <= 5e-5 * Math.Max(1, Math.Abs(expected)), $"n {n}: {expected} vs {actual}");
            }
    }

    [Theory]
    [InlineData(KvCacheType.Float16, 4, 2, 8, 10, null, 0f, false, 1)]
    [InlineData(KvCacheType.Float16, 4, 4, 16, 33, null, 0f, true, 1)]
    [InlineData(KvCacheType.BFloat16, 8, 2, 24, 40, 6, 0f, false, 1)] // sliding window, ragged head width
    [InlineData(KvCacheType.BFloat16, 4, 2, 16, 20, null, 5f, true, 1)] // soft-cap
    [InlineData(KvCacheType.Float16, 16, 4, 64, 300, null, 0f, false, 2)] // heads split over threads
    public void Attention_over_16_bit_codes_matches_the_reference_over_their_values(KvCacheType storage, int heads, int kvHeads, int headDim, int count, int? window, float softCap, bool gaps, int threads)
    {
        bool bfloat16 = storage == KvCacheType.BFloat16;
        int capacity = count + 3;
        float[] q = Random(heads * headDim, 13, 2);
        ushort[] k = [.. Random(kvHeads * capacity * headDim, 14, 2).Select(v => HalfKvRows.Narrow(bfloat16, v))];
        ushort[] v = [.. Random(kvHeads * capacity * headDim, 15).Select(x => HalfKvRows.Narrow(bfloat16, x))];
        float[] kw = [.. k.Select(c => (float)ToDouble(bfloat16, c))], vw = [.. v.Select(c => (float)ToDouble(bfloat16, c))];
        long[] positions = [.. Enumerable.Range(0, count).Select(j => gaps ? (long)((j * 7) % (count + 4)) : j)];
        long query = count - 1;
        var expected = RowOpsReference.Attend(q, kw, vw, positions, count, capacity, heads, kvHeads, headDim, query, 1 / Math.Sqrt(headDim), window, softCap);
        var actual = new float[heads * headDim];
        fixed (ushort* pk = k)
        fixed (ushort* pv = v)
        fixed (long* pp = positions)
            SingleQueryAttention.Attend(q, storage, pk, pv, gaps ? pp : null, count, capacity, heads, kvHeads, headDim, query,
                1 / Math.Sqrt(headDim), window, softCap, actual, threads);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f * Math.Max(1, Math.Abs(expected[i])), $"[{i}] expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void An_undefined_storage_type_is_rejected()
    {
        var output = new float[8];
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => SingleQueryAttention.Attend(new float[8], (KvCacheType)5, null, null, null, 0, 1, 1, 1, 8, 0, 1, null, 0, output, 1));
        Assert.Equal("storage", ex.ParamName);
    }

    /// <summary>A 16-bit code's value, independently of the kernels: .NET's Half, or the top half of a float32.</summary>
    private static double ToDouble(bool bfloat16, ushort code) =>
        bfloat16 ? BitConverter.Int32BitsToSingle(code << 16) : (double)BitConverter.UInt16BitsToHalf(code);
}
