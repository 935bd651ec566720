using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// The score pass of <see cref="SingleQueryAttention"/> between the dots and the values: scale (same bits as the scalar
/// loop) and a softmax that is 16 lanes wide throughout, with its own inlined exponential.
/// </summary>
public static unsafe partial class SingleQueryAttention
{
    /// <summary>x[j] *= scale for j in [0, <paramref name="n"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Scale(float* x, int n, float scale)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var s = Vector512.Create(scale);
            for (; i + 16 <= n; i += 16) (Vector512.Load(x + i) * s).Store(x + i);
        }
        for (; i < n; i++) x[i] *= scale;
    }

    /// <summary>
    /// Softmax in place over x[0..n): −∞ entries get 0; false (all zero) when every entry is −∞. With AVX-512 the buffer
    /// must hold n rounded up to 16 floats (the lanes past n are written with 0), and the exponentials come from
    /// <see cref="ExpNonPositive"/>, within 2 ulp of exp (RowOps.Softmax's Vector256.Exp computes in double precision and
    /// is not inlined into this loop; results differ from it by float rounding).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool Softmax(float* x, int n)
    {
        if (!Avx512F.IsSupported)
        {
            var span = new Span<float>(x, n);
            return RowOps.Softmax(span);
        }
        int full = n & ~15;
        var tail = Vector512.LessThan(Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), Vector512.Create(n - full)).AsSingle();
        var negativeInfinity = Vector512.Create(float.NegativeInfinity);
        // vmaxps returns its second operand when the first is NaN, so NaN entries are passed over like a scalar `v > max`.
        var m = negativeInfinity;
        for (int i = 0; i < full; i += 16) m = Avx512F.Max(Vector512.Load(x + i), m);
        if (full < n) m = Avx512F.Max(Vector512.ConditionalSelect(tail, Vector512.Load(x + full), negativeInfinity), m);
        float max = Max16(m);
        if (float.IsNegativeInfinity(max))
        {
            new Span<float>(x, n).Clear();
            return false;
        }
        var vmax = Vector512.Create(max);
        Vector512<float> s0 = default, s1 = default;
        int j = 0;
        for (; j + 32 <= full; j += 32)
        {
            var e0 = ExpNonPositive(Vector512.Load(x + j) - vmax);
            var e1 = ExpNonPositive(Vector512.Load(x + j + 16) - vmax);
            e0.Store(x + j);
            e1.Store(x + j + 16);
            s0 += e0;
            s1 += e1;
        }
        for (; j < full; j += 16)
        {
            var e = ExpNonPositive(Vector512.Load(x + j) - vmax);
            e.Store(x + j);
            s0 += e;
        }
        if (full < n)
        {
            var e = ExpNonPositive(Vector512.ConditionalSelect(tail, Vector512.Load(x + full), negativeInfinity) - vmax);
            e.Store(x + full);
            s1 += e;
        }
        var inverse = Vector512.Create(1f / Vector512.Sum(s0 + s1));
        for (int i = 0; i < n; i += 16) (Vector512.Load(x + i) * inverse).Store(x + i);
        return true;
    }

    /// <summary>
    /// The largest lane of <paramref name="m"/>, whose lanes are never NaN (the loop above passes NaN over), so a tree of
    /// vmaxps gives the scalar scan's value (at most the sign of a zero differs, and x − (±0) is the same for every x that
    /// then matters: e^(±0) = 1).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Max16(Vector512<float> m)
    {
        var half = Avx.Max(m.GetLower(), m.GetUpper());
        var quarter = Sse.Max(half.GetLower(), half.GetUpper());
        quarter = Sse.Max(quarter, Sse.Shuffle(quarter, quarter, 0b_01_00_11_10));
        quarter = Sse.Max(quarter, Sse.Shuffle(quarter, quarter, 0b_10_11_00_01));
        return quarter.ToScalar();
    }

    /// <summary>
    /// e^x for x ≤ 0 (softmax's x − max), within 2 ulp: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two so n·ln2 is exact),
    /// e^r by the degree-6 polynomial of Cephes' expf, times 2^n built in the exponent field. Below −87.3 (2^n would be
    /// subnormal) and at −∞ the result is 0; e^0 = 1 exactly; NaN stays NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> ExpNonPositive(Vector512<float> x)
    {
        var n = Avx512F.RoundScale(x * Vector512.Create(1.44269504088896341f), 0x08); // round to nearest, no exception
        var r = Avx512F.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), x);
        r = Avx512F.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        var p = Vector512.Create(1.9875691500e-4f);
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.3981999507e-3f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(8.3334519073e-3f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(4.1665795894e-2f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.6666665459e-1f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(5.0000001201e-1f));
        p = Avx512F.FusedMultiplyAdd(p, r * r, r) + Vector512<float>.One;
        var scale = Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(n) + Vector512.Create(127), 23).AsSingle();
        var e = p * scale;
        e = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512.Create(-87.3f)), e, Vector512<float>.Zero);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), e, x);
    }

    /// <summary>2^112: the factor between a half code's value and its <see cref="ScaledHalfLanes"/> bits.</summary>
    private const float HalfRebias = 5.192297e33f;

    /// <summary>
    /// scaled = q·2^112 when every |q| is below 2^16 (so nothing overflows and each product with a k·2^−112 equals q·k);
    /// false otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool ScaleQuery(float* q, int n, float* scaled)
    {
        for (int i = 0; i < n; i++)
        {
            float x = q[i];
            if (!(MathF.Abs(x) < 65536f)) return false; // NaN too
            scaled[i] = x * HalfRebias;
        }
        return true;
    }
}
