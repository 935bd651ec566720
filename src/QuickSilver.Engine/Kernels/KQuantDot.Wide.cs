using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Quantization;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// The AVX-512 decode path of Q5_K (Q4_K's is in KQuantDot.Q4_K.cs) with no scalar work per sub-block: the twelve packed 6-bit scale/min bytes
/// are unpacked with three 32-bit words (as ggml does), each chunk's two sub-block scales come from one word permute of
/// the block's eight scales, and the minimum's term Σ_j min_j·Σa_j is a vector multiply of the eight mins by the pairs
/// of 16-value activation sums, accumulated in float lanes across blocks (no horizontal sum per block).
/// </summary>
internal static unsafe partial class KQuantDot
{
    private static float Q5_KWide(byte* w, sbyte* a, float* sa, short* sums, int nb)
    {
        Q5_KWideLanes(w, a, sa, sums, nb, out var acc, out var mins);
        return Vector512.Sum(acc) - Vector256.Sum(mins);
    }

    /// <summary>Whether <see cref="Rows4"/> takes <paramref name="type"/> on <paramref name="isa"/>.</summary>
    internal static bool HasRows4(GgufTensorType type, KernelIsa isa) => isa == KernelIsa.Avx512 && Avx512F.IsSupported
        && (type == GgufTensorType.Q6_K || (KernelSettings.DecodeKernel && type is GgufTensorType.Q4_K or GgufTensorType.Q5_K));

    /// <summary>
    /// Four consecutive Q4_K/Q5_K/Q6_K rows (<paramref name="rowBytes"/> apart) · one activation row: the four results of
    /// <see cref="Dot"/>, bit for bit, with one lane reduction for the four (on 4-block rows it is a large share of a row).
    /// </summary>
    internal static Vector128<float> Rows4(GgufTensorType type, byte* w, int rowBytes, sbyte* a, float* sa, short* sums, int nb) => type switch
    {
        // One method per format: a shared body's stack frame (zeroed on every call) would hold all three formats' temporaries.
        GgufTensorType.Q4_K => Q4_KRows4(w, rowBytes, a, sa, sums, nb),
        GgufTensorType.Q6_K => Q6_KRows4(w, rowBytes, a, sa, sums, nb),
        _ => Q5_KRows4(w, rowBytes, a, sa, sums, nb),
    };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector128<float> Q6_KRows4(byte* w, int rowBytes, sbyte* a, float* sa, short* sums, int nb) => Gfni.V512.IsSupported
        ? Q6_KRows4Interleaved(w, rowBytes, a, sa, sums, nb)
        : DecodeMatVec.Sum4(Q6_KAvx512Lanes(w, a, sa, sums, nb), Q6_KAvx512Lanes(w + rowBytes, a, sa, sums, nb),
            Q6_KAvx512Lanes(w + (2 * rowBytes), a, sa, sums, nb), Q6_KAvx512Lanes(w + (3 * rowBytes), a, sa, sums, nb));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector128<float> Q5_KRows4(byte* w, int rowBytes, sbyte* a, float* sa, short* sums, int nb)
    {
        Q5_KWideLanes(w, a, sa, sums, nb, out var acc0, out var mins0);
        Q5_KWideLanes(w + rowBytes, a, sa, sums, nb, out var acc1, out var mins1);
        Q5_KWideLanes(w + (2 * rowBytes), a, sa, sums, nb, out var acc2, out var mins2);
        Q5_KWideLanes(w + (3 * rowBytes), a, sa, sums, nb, out var acc3, out var mins3);
        return Reduce4(acc0, acc1, acc2, acc3, mins0, mins1, mins2, mins3);
    }

    /// <summary>
    /// Four rows' <c>Vector512.Sum(acc) − Vector256.Sum(mins)</c> at once: both sums add neighbouring lanes, then pairs of
    /// pairs, so the four-row trees are the one-row ones.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Reduce4(Vector512<float> acc0, Vector512<float> acc1, Vector512<float> acc2, Vector512<float> acc3,
        Vector256<float> mins0, Vector256<float> mins1, Vector256<float> mins2, Vector256<float> mins3) =>
        DecodeMatVec.Sum4(acc0, acc1, acc2, acc3) - DecodeMatVec.Sum4Of8(Vector512.Create(mins0, mins1), Vector512.Create(mins2, mins3));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q5_KWideLanes(byte* w, sbyte* a, float* sa, short* sums, int nb, out Vector512<float> accLanes, out Vector256<float> minLanes)
    {
        float* half = HalfPointer;
        var low = Vector256.Create((byte)0x0F);
        var fifth = Vector256.Create((byte)0x10);
        // Word-permute indices: chunk c multiplies sub-block 2c's scale in its low 16 words and 2c+1's in the high 16.
        var index0 = Vector512.Create(Vector256.Create((short)0), Vector256.Create((short)1));
        var step = Vector512.Create((short)2);
        var ones = Vector256.Create((short)1);
        var acc = Vector512<float>.Zero;
        var mins = Vector256<float>.Zero;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockQ5_K.Bytes);
            sbyte* q8 = a + (b * 256);
            WeightPrefetch.Block(x, 3);
            Unpack(x + 4, out ulong packedScales, out ulong packedMins);
            var scales8 = Vector128.CreateScalar(packedScales).AsByte();
            var mins8 = Vector128.CreateScalar(packedMins).AsByte();
            // The 8 scales as words in the low 128 bits; vpermw only ever indexes words 0..7, so the rest may be anything.
            var scales = Sse41.ConvertToVector128Int16(scales8).ToVector256Unsafe().ToVector512Unsafe();
            // Σ_j min_j · (Σa over 32 values) with the two 16-value sums of sub-block j paired by madd.
            var pairSums = Avx2.MultiplyAddAdjacent(Avx.LoadVector256(sums + (b * 16)), ones);
            var minTerms = Avx2.MultiplyLow(pairSums, Avx2.ConvertToVector256Int32(mins8));
            mins = Fma.MultiplyAdd(Avx.ConvertToVector256Single(minTerms), Vector256.Create(half[*(ushort*)(x + 2)] * sa[b]), mins);
            byte* qs = x + 48;
            var qh = Avx.LoadVector256(x + 16).AsUInt16();
            var sumi = Vector512<int>.Zero;
            var index = index0;
            for (int c = 0; c < 4; c++)
            {
                var q = Avx.LoadVector256(qs + (32 * c));
                var lo = (q & low) | (Avx2.ShiftLeftLogical(qh, 4).AsByte() & fifth);
                var hi = (Avx2.ShiftRightLogical(q.AsUInt16(), 4).AsByte() & low) | (Avx2.ShiftLeftLogical(qh, 3).AsByte() & fifth);
                qh = Avx2.ShiftRightLogical(qh, 2);
                var products = Avx512BW.MultiplyAddAdjacent(Join(lo, hi), Avx512BW.LoadVector512(q8 + (64 * c)));
                sumi += Avx512BW.MultiplyAddAdjacent(products, Avx512BW.PermuteVar32x16(scales, index));
                index += step;
            }
            acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sumi), Vector512.Create(half[*(ushort*)x] * sa[b]), acc);
        }
        (accLanes, minLanes) = (acc, mins);
    }

    /// <summary>
    /// [lo | hi] in one vinserti64x4. Vector512.Create(lo, hi) compiles to two inserts into a stack temporary, a false
    /// dependency chaining every chunk of every block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<byte> Join(Vector256<byte> lo, Vector256<byte> hi) => Avx512F.InsertVector256(lo.ToVector512Unsafe(), hi, 1);

    /// <summary>
    /// Q4_K/Q5_K's twelve packed bytes → eight 6-bit scales and eight mins as the bytes of two 64-bit words (the same
    /// values as <see cref="ScalesAndMins"/>): bytes 0..3 hold scales 0..3 and mins 0..3 in their low 6 bits and the top 2
    /// bits of scales/mins 4..7; bytes 8..11 hold the low 4 bits of scales 4..7 (low nibble) and mins 4..7 (high nibble).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Unpack(byte* packed, out ulong scales, out ulong mins)
    {
        uint u0 = *(uint*)packed, u1 = *(uint*)(packed + 4), u2 = *(uint*)(packed + 8);
        uint scalesLow = u0 & 0x3F3F3F3F, minsLow = u1 & 0x3F3F3F3F;
        uint scalesHigh = (u2 & 0x0F0F0F0F) | (((u0 >> 6) & 0x03030303) << 4);
        uint minsHigh = ((u2 >> 4) & 0x0F0F0F0F) | (((u1 >> 6) & 0x03030303) << 4);
        scales = scalesLow | ((ulong)scalesHigh << 32);
        mins = minsLow | ((ulong)minsHigh << 32);
    }
}
