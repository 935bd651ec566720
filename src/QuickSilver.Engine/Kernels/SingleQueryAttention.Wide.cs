using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// The AVX-512 inner loops of <see cref="SingleQueryAttention"/> over float32 keys and values, giving the same bits as the
/// key-by-key loops they replace. Scores: each key's 16-lane vector is built exactly as <see cref="RowOps.Dot"/> builds it,
/// then 16 keys' vectors are reduced together by pairwise lane sums, the same tree <c>Vector512.Sum</c> adds one vector by
/// (neighbours, then pairs of pairs, …), instead of a horizontal sum per key. Values: the output head stays in registers
/// across keys, with the same per-element FMA <see cref="RowOps.AddScaled"/> stores and reloads for every key.
/// </summary>
public static unsafe partial class SingleQueryAttention
{
    /// <summary>Whether <see cref="KeyDots16"/> reproduces <see cref="RowOps.Dot"/> for heads <paramref name="headDim"/> wide.</summary>
    private static bool WideDots(int headDim) => Avx512F.IsSupported && Vector512.IsHardwareAccelerated && headDim % 16 == 0;

    /// <summary>Whether <see cref="AddScaledValues"/> takes heads <paramref name="headDim"/> wide.</summary>
    private static bool WideValues(int headDim) => Avx512F.IsSupported && headDim is 64 or 128;

    /// <summary>
    /// scores[j] = q·k_j for j in [0, <paramref name="count"/>) (a multiple of 16), keys <paramref name="headDim"/> apart.
    /// </summary>
    internal static void KeyDots16(float* q, float* keys, int headDim, int count, float* scores)
    {
        for (int j = 0; j < count; j += 16)
        {
            float* k = keys + ((long)j * headDim);
            long d = headDim;
            var p0 = Pair(KeyVector(q, k, headDim), KeyVector(q, k + d, headDim));
            var p1 = Pair(KeyVector(q, k + (2 * d), headDim), KeyVector(q, k + (3 * d), headDim));
            var p2 = Pair(KeyVector(q, k + (4 * d), headDim), KeyVector(q, k + (5 * d), headDim));
            var p3 = Pair(KeyVector(q, k + (6 * d), headDim), KeyVector(q, k + (7 * d), headDim));
            var p4 = Pair(KeyVector(q, k + (8 * d), headDim), KeyVector(q, k + (9 * d), headDim));
            var p5 = Pair(KeyVector(q, k + (10 * d), headDim), KeyVector(q, k + (11 * d), headDim));
            var p6 = Pair(KeyVector(q, k + (12 * d), headDim), KeyVector(q, k + (13 * d), headDim));
            var p7 = Pair(KeyVector(q, k + (14 * d), headDim), KeyVector(q, k + (15 * d), headDim));
            // Lane k of the result is key j + k: each level halves the lanes per key and keeps the keys in order.
            Pair(Pair(Pair(p0, p1), Pair(p2, p3)), Pair(Pair(p4, p5), Pair(p6, p7))).Store(scores + j);
        }
    }

    /// <summary>RowOps.Dot's vector before its final sum: four FMA chains over 64-value strides, then 16-value ones into the first, (s0 + s1) + (s2 + s3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> KeyVector(float* q, float* k, int n)
    {
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
        int i = 0;
        for (; i + 64 <= n; i += 64)
        {
            s0 = Vector512.FusedMultiplyAdd(Vector512.Load(q + i), Vector512.Load(k + i), s0);
            s1 = Vector512.FusedMultiplyAdd(Vector512.Load(q + i + 16), Vector512.Load(k + i + 16), s1);
            s2 = Vector512.FusedMultiplyAdd(Vector512.Load(q + i + 32), Vector512.Load(k + i + 32), s2);
            s3 = Vector512.FusedMultiplyAdd(Vector512.Load(q + i + 48), Vector512.Load(k + i + 48), s3);
        }
        for (; i + 16 <= n; i += 16) s0 = Vector512.FusedMultiplyAdd(Vector512.Load(q + i), Vector512.Load(k + i), s0);
        return (s0 + s1) + (s2 + s3);
    }

    /// <summary>Lanes 0..7: x's neighbouring lanes added (2i, 2i + 1); lanes 8..15: y's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pair(Vector512<float> x, Vector512<float> y)
    {
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odd = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        return Avx512F.PermuteVar16x32x2(x, even, y) + Avx512F.PermuteVar16x32x2(x, odd, y);
    }

    /// <summary>
    /// output (cleared first) += scores[j]·v_j over the <paramref name="count"/> values, skipping zero weights, for heads of
    /// 64 or 128 values.
    /// </summary>
    internal static void AddScaledValues(float* scores, int count, float* values, int headDim, float* output)
    {
        Vector512<float> o0 = default, o1 = default, o2 = default, o3 = default, o4 = default, o5 = default, o6 = default, o7 = default;
        bool wide = headDim == 128;
        for (int j = 0; j < count; j++)
        {
            if (scores[j] == 0) continue;
            var s = Vector512.Create(scores[j]);
            float* v = values + ((long)j * headDim);
            o0 = Avx512F.FusedMultiplyAdd(s, Vector512.Load(v), o0);
            o1 = Avx512F.FusedMultiplyAdd(s, Vector512.Load(v + 16), o1);
            o2 = Avx512F.FusedMultiplyAdd(s, Vector512.Load(v + 32), o2);
            o3 = Avx512F.FusedMultiplyAdd(s, Vector512.Load(v + 48), o3);
            if (wide)
            {
                o4 = Avx512F.FusedMultiplyAdd(s, Vector512.Load(v + 64), o4);
                o5 = Avx512F.FusedMultiplyAdd(s, Vector512.Load(v + 80), o5);
                o6 = Avx512F.FusedMultiplyAdd(s, Vector512.Load(v + 96), o6);
                o7 = Avx512F.FusedMultiplyAdd(s, Vector512.Load(v + 112), o7);
            }
        }
        o0.Store(output); o1.Store(output + 16); o2.Store(output + 32); o3.Store(output + 48);
        if (wide)
        {
            o4.Store(output + 64); o5.Store(output + 80); o6.Store(output + 96); o7.Store(output + 112);
        }
    }
}
