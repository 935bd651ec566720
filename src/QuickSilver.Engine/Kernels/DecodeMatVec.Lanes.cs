using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// <see cref="DecodeMatVec"/>'s lane work: widening 16 half-precision weight scales at once, and reducing a step's block
/// lanes and a row's float lanes by neighbouring pairs (so that four rows reduced together keep each row's bits).
/// </summary>
internal static unsafe partial class DecodeMatVec
{
    /// <summary>IEEE half bits → float32, exactly (normals, subnormals, zeros, infinities; NaNs stay NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> HalfToSingle(Vector256<ushort> halves)
    {
        var h = Avx512F.ConvertToVector512Int32(halves);
        var magnitude = h & Vector512.Create(0x7FFF);
        var shifted = Vector512.ShiftLeft(magnitude, 13);
        // Rebiasing by a multiply is exact for normals and turns half subnormals into float normals.
        var finite = (shifted.AsSingle() * Vector512.Create(0x77800000).AsSingle()).AsInt32(); // × 2^112
        var special = shifted | Vector512.Create(0x7F800000);
        var bits = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(magnitude, Vector512.Create(0x7C00)), special, finite);
        return (bits | Vector512.ShiftLeft(h & Vector512.Create(0x8000), 16)).AsSingle();
    }

    /// <summary>
    /// Finite half bits → float32 in four instructions, exactly (normals, subnormals, signed zeros); ±Inf and NaN come out
    /// as wrong finite values, so it is only for scales known finite (<see cref="QuantizedMatrix.FiniteScales"/>). Sign
    /// extension then a shift by 13 puts the sign at bit 31 and exponent|mantissa at bits 27..13 (bits 30..28 copies of the
    /// sign, masked off); the multiply by 2^112 rebiases the exponent as <see cref="HalfToSingle"/> does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> FiniteHalfToSingle(Vector256<ushort> halves)
    {
        var bits = Vector512.ShiftLeft(Avx512F.ConvertToVector512Int32(halves.AsInt16()), 13) & Vector512.Create(unchecked((int)0x8FFFE000));
        return bits.AsSingle() * Vector512.Create(0x77800000).AsSingle();
    }

    /// <summary>
    /// The high nibble of each byte, as (x &gt;&gt; 4) &amp; 0x0F: one GF(2) affine transform (gf2p8affineqb, whose matrix moves
    /// bits 4..7 to 0..3 and clears the rest) where GFNI is present, a shift and a mask otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<byte> HighNibbles(Vector512<byte> packed) => Gfni.V512.IsSupported
        ? Gfni.V512.GaloisFieldAffineTransform(packed, Vector512.Create(0x1020408000000000UL).AsByte(), 0)
        : Avx512BW.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & Vector512.Create((byte)0x0F);

    /// <summary>How a step widens its 16 half-precision weight scales.</summary>
    internal interface IHalfWidening
    {
        /// <summary>16 half bits → 16 floats.</summary>
        static abstract Vector512<float> Widen(Vector256<ushort> halves);
    }

    /// <summary><see cref="HalfToSingle"/>: every half, infinities and NaNs included.</summary>
    internal readonly struct ExactHalves : IHalfWidening
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Widen(Vector256<ushort> halves) => HalfToSingle(halves);
    }

    /// <summary><see cref="FiniteHalfToSingle"/>: the same bits for finite halves in less than half the instructions.</summary>
    internal readonly struct FiniteHalves : IHalfWidening
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Widen(Vector256<ushort> halves) => FiniteHalfToSingle(halves);
    }

    /// <summary>
    /// 8 vectors of 2 blocks × 8 partial lanes → one lane per block. Each level adds neighbouring lanes of two vectors,
    /// so block order is kept: 8 lanes per block → 4 → 2 → 1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Reduce(Vector512<int> v0, Vector512<int> v1, Vector512<int> v2, Vector512<int> v3, Vector512<int> v4, Vector512<int> v5, Vector512<int> v6, Vector512<int> v7) =>
        Reduce(Pair(v0, v1), Pair(v2, v3), Pair(v4, v5), Pair(v6, v7));

    /// <summary>4 vectors of 4 blocks × 4 partial lanes → one lane per block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Reduce(Vector512<int> v0, Vector512<int> v1, Vector512<int> v2, Vector512<int> v3) =>
        Pair(Pair(v0, v1), Pair(v2, v3));

    /// <summary>
    /// The sum of the 16 lanes by neighbouring pairs, then pairs of pairs (the tree Vector512.Sum uses here), written out so
    /// that <see cref="Sum4"/> gives each of four rows the same bits as this.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Sum16(Vector512<float> v)
    {
        v = Pair(v, v);
        v = Pair(v, v);
        v = Pair(v, v);
        return Pair(v, v).ToScalar();
    }

    /// <summary>[Sum16(c0), Sum16(c1), Sum16(c2), Sum16(c3)] with one reduction for the four.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> Sum4(Vector512<float> c0, Vector512<float> c1, Vector512<float> c2, Vector512<float> c3)
    {
        var v = Pair(Pair(c0, c1), Pair(c2, c3)); // 4 lanes per row
        v = Pair(v, v);                           // 2
        return Pair(v, v).GetLower().GetLower();  // 1, rows in order
    }

    /// <summary>
    /// The Vector256.Sum of four 8-lane rows held two per vector ([r0 | r1], [r2 | r3]) by the same neighbour-pair tree.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> Sum4Of8(Vector512<float> r01, Vector512<float> r23)
    {
        var v = Pair(r01, r23);                   // 4 lanes per row
        v = Pair(v, v);                           // 2
        return Pair(v, v).GetLower().GetLower();  // 1, rows in order
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pair(Vector512<float> x, Vector512<float> y)
    {
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odd = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        return Avx512F.PermuteVar16x32x2(x, even, y) + Avx512F.PermuteVar16x32x2(x, odd, y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Pair(Vector512<int> x, Vector512<int> y)
    {
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odd = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        return Avx512F.PermuteVar16x32x2(x, even, y) + Avx512F.PermuteVar16x32x2(x, odd, y);
    }
}
