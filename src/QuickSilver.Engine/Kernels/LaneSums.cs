using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// Horizontal sums of several 16-lane vectors at once, each with the bits of <see cref="Vector512.Sum{T}"/> on that vector:
/// Vector512.Sum adds neighbouring lanes, then neighbouring pairs, and so on, and a tree of pairwise lane sums over
/// several vectors does the same additions in the same order, while it shares each shuffle between vectors (16 sums for
/// 15 two-shuffle steps instead of 16 separate reductions). The decode products' tiles end with one such step.
/// </summary>
internal static class LaneSums
{
    /// <summary>Lane i = Vector512.Sum(v_i) for the 16 vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Of16(
        Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, Vector512<float> v7,
        Vector512<float> v8, Vector512<float> v9, Vector512<float> v10, Vector512<float> v11,
        Vector512<float> v12, Vector512<float> v13, Vector512<float> v14, Vector512<float> v15) =>
        Pair(Pair(Pair(Pair(v0, v1), Pair(v2, v3)), Pair(Pair(v4, v5), Pair(v6, v7))),
             Pair(Pair(Pair(v8, v9), Pair(v10, v11)), Pair(Pair(v12, v13), Pair(v14, v15))));

    /// <summary>Lanes i and i + 8 = Vector512.Sum(v_i) for the 8 vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Of8(
        Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, Vector512<float> v7)
    {
        var partial = Pair(Pair(Pair(v0, v1), Pair(v2, v3)), Pair(Pair(v4, v5), Pair(v6, v7))); // each vector's 8-lane sums, two lanes per vector
        return Pair(partial, partial);
    }

    /// <summary>Lanes 0..7: x's neighbouring lanes added (2i, 2i + 1); lanes 8..15: y's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Pair(Vector512<float> x, Vector512<float> y)
    {
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odd = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        return Avx512F.PermuteVar16x32x2(x, even, y) + Avx512F.PermuteVar16x32x2(x, odd, y);
    }

    /// <summary>Whether the shuffles exist here (AVX-512); otherwise callers keep Vector512.Sum per vector.</summary>
    public static bool IsSupported => Avx512F.IsSupported;
}
