using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using QuickSilver.Engine.Quantization;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// Q4_K on its stored layout (<see cref="Q4_KLayout"/>) against <see cref="Q8KActivations.K4Order"/>. Word L of either
/// 64-byte half of a block's nibbles belongs to chunk L mod 4, so the byte products (vpmaddubsw, 16-bit lanes) of both
/// halves' low nibbles add up in 16 bits per lane, all of sub-block 2c, and those of the high nibbles all of 2c+1
/// (|sum| ≤ 4·2·15·127 = 15 240 for the AVX2 path, half that for AVX-512); then one vpmaddwd per nibble kind multiplies
/// the sub-block scales in: per block 4 multiply-adds, 2 adds and 2 scale multiplies, with no permute per 64 values. The
/// scales reach their lanes by one byte shuffle each from the packed word broadcast to every 128-bit lane (the lane
/// pattern repeats per 128 bits). The integer sums are the scalar reference's; the minimum's term is a vector of eight
/// products <c>min_j·Σa_j</c> per block, accumulated in float lanes apart.
/// </summary>
internal static unsafe partial class KQuantDot
{
    // vpshufb controls: the word pattern [s0 s0 s2 s2 s4 s4 s6 s6] (even sub-blocks) and [s1 s1 s3 s3 … s7 s7] (odd) from
    // the 8 scale bytes at 0..7 of each 128-bit lane, zero-extended (0x80 clears a byte).
    private static readonly Vector128<byte> EvenScales = Vector128.Create((byte)0, 0x80, 0, 0x80, 2, 0x80, 2, 0x80, 4, 0x80, 4, 0x80, 6, 0x80, 6, 0x80);

    private static readonly Vector128<byte> OddScales = Vector128.Create((byte)1, 0x80, 1, 0x80, 3, 0x80, 3, 0x80, 5, 0x80, 5, 0x80, 7, 0x80, 7, 0x80);

    // The 16 words [m0 m0 m1 m1 … m7 m7] from the 8 min bytes at 0..7 of both 128-bit lanes: one vpmaddwd with the 16-value
    // activation sums then gives min_j·(Σa over sub-block j) per int32 lane.
    private static readonly Vector256<byte> MinWords = Vector256.Create((byte)0, 0x80, 0, 0x80, 1, 0x80, 1, 0x80, 2, 0x80, 2, 0x80, 3, 0x80, 3, 0x80,
        4, 0x80, 4, 0x80, 5, 0x80, 5, 0x80, 6, 0x80, 6, 0x80, 7, 0x80, 7, 0x80);

    /// <summary>
    /// Four rows block by block, interleaved: the four rows' independent chains overlap and each activation block is
    /// loaded once for the four. Each row takes <see cref="Q4_KLanes"/>'s steps in its order, so its bits are Dot's.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector128<float> Q4_KRows4(byte* w, int rowBytes, sbyte* a, float* sa, short* sums, int nb)
    {
        float* half = HalfPointer;
        var low = Vector512.Create((byte)0x0F);
        var even = Vector512.Create(EvenScales);
        var odd = Vector512.Create(OddScales);
        var minWords = MinWords;
        Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        Vector256<float> m0 = default, m1 = default, m2 = default, m3 = default;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockQ4_K.Bytes);
            sbyte* q8 = a + (b * 256);
            var a0 = Avx512BW.LoadVector512(q8);
            var a1 = Avx512BW.LoadVector512(q8 + 64);
            var a2 = Avx512BW.LoadVector512(q8 + 128);
            var a3 = Avx512BW.LoadVector512(q8 + 192);
            var pairSums = Avx.LoadVector256(sums + (b * 16));
            float s = sa[b];
            acc0 = Q4_KRowBlock(x, a0, a1, a2, a3, pairSums, s, half, low, even, odd, minWords, acc0, ref m0);
            acc1 = Q4_KRowBlock(x + rowBytes, a0, a1, a2, a3, pairSums, s, half, low, even, odd, minWords, acc1, ref m1);
            acc2 = Q4_KRowBlock(x + (2 * rowBytes), a0, a1, a2, a3, pairSums, s, half, low, even, odd, minWords, acc2, ref m2);
            acc3 = Q4_KRowBlock(x + (3 * rowBytes), a0, a1, a2, a3, pairSums, s, half, low, even, odd, minWords, acc3, ref m3);
        }
        return Reduce4(acc0, acc1, acc2, acc3, m0, m1, m2, m3);
    }

    /// <summary>One block of one row: <see cref="Q4_KLanes"/>'s loop body with the activation block already loaded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Q4_KRowBlock(byte* x, Vector512<sbyte> a0, Vector512<sbyte> a1, Vector512<sbyte> a2, Vector512<sbyte> a3,
        Vector256<short> sums, float sa, float* half, Vector512<byte> low, Vector512<byte> even, Vector512<byte> odd, Vector256<byte> minWords,
        Vector512<float> acc, ref Vector256<float> mins)
    {
        WeightPrefetch.Block(x, 3);
        Unpack(x + 4, out ulong packedScales, out ulong packedMins);
        var scaleBytes = Vector512.Create(packedScales).AsByte();
        var q0 = Avx512BW.LoadVector512(x + Q4_KLayout.HeaderBytes);
        var q1 = Avx512BW.LoadVector512(x + Q4_KLayout.HeaderBytes + 64);
        var evenDots = Avx512BW.MultiplyAddAdjacent(q0 & low, a0) + Avx512BW.MultiplyAddAdjacent(q1 & low, a2);
        var oddDots = Avx512BW.MultiplyAddAdjacent(DecodeMatVec.HighNibbles(q0), a1) + Avx512BW.MultiplyAddAdjacent(DecodeMatVec.HighNibbles(q1), a3);
        var sumi = Avx512BW.MultiplyAddAdjacent(evenDots, Avx512BW.Shuffle(scaleBytes, even).AsInt16())
            + Avx512BW.MultiplyAddAdjacent(oddDots, Avx512BW.Shuffle(scaleBytes, odd).AsInt16());
        var minTerms = Avx2.MultiplyAddAdjacent(sums, Avx2.Shuffle(Vector256.Create(packedMins).AsByte(), minWords).AsInt16());
        mins = Fma.MultiplyAdd(Avx.ConvertToVector256Single(minTerms), Vector256.Create(half[*(ushort*)(x + 2)] * sa), mins);
        return Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sumi), Vector512.Create(half[*(ushort*)x] * sa), acc);
    }

    private static float Q4_KWide(byte* w, sbyte* a, float* sa, short* sums, int nb)
    {
        Q4_KLanes(w, a, sa, sums, nb, out var acc, out var mins);
        return Vector512.Sum(acc) - Vector256.Sum(mins);
    }

    /// <summary>One Q4_K row's float lanes: Σ_b d·s_a·(scaled sub-block dots) and, apart, Σ_b dmin·s_a·(min terms).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q4_KLanes(byte* w, sbyte* a, float* sa, short* sums, int nb, out Vector512<float> accLanes, out Vector256<float> minLanes)
    {
        float* half = HalfPointer;
        var low = Vector512.Create((byte)0x0F);
        var even = Vector512.Create(EvenScales);
        var odd = Vector512.Create(OddScales);
        var minWords = MinWords;
        var acc = Vector512<float>.Zero;
        var mins = Vector256<float>.Zero;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockQ4_K.Bytes);
            sbyte* q8 = a + (b * 256);
            WeightPrefetch.Block(x, 3);
            Unpack(x + 4, out ulong packedScales, out ulong packedMins);
            var scaleBytes = Vector512.Create(packedScales).AsByte();
            var q0 = Avx512BW.LoadVector512(x + Q4_KLayout.HeaderBytes);
            var q1 = Avx512BW.LoadVector512(x + Q4_KLayout.HeaderBytes + 64);
            var evenDots = Avx512BW.MultiplyAddAdjacent(q0 & low, Avx512BW.LoadVector512(q8))
                + Avx512BW.MultiplyAddAdjacent(q1 & low, Avx512BW.LoadVector512(q8 + 128));
            var oddDots = Avx512BW.MultiplyAddAdjacent(DecodeMatVec.HighNibbles(q0), Avx512BW.LoadVector512(q8 + 64))
                + Avx512BW.MultiplyAddAdjacent(DecodeMatVec.HighNibbles(q1), Avx512BW.LoadVector512(q8 + 192));
            var sumi = Avx512BW.MultiplyAddAdjacent(evenDots, Avx512BW.Shuffle(scaleBytes, even).AsInt16())
                + Avx512BW.MultiplyAddAdjacent(oddDots, Avx512BW.Shuffle(scaleBytes, odd).AsInt16());
            acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sumi), Vector512.Create(half[*(ushort*)x] * sa[b]), acc);
            var minTerms = Avx2.MultiplyAddAdjacent(Avx.LoadVector256(sums + (b * 16)), Avx2.Shuffle(Vector256.Create(packedMins).AsByte(), minWords).AsInt16());
            mins = Fma.MultiplyAdd(Avx.ConvertToVector256Single(minTerms), Vector256.Create(half[*(ushort*)(x + 2)] * sa[b]), mins);
        }
        (accLanes, minLanes) = (acc, mins);
    }

    /// <summary>The same sums in 256-bit vectors: a 32-byte quarter of the nibbles holds words whose chunk is again L mod 4.</summary>
    private static float Q4_KAvx2(byte* w, sbyte* a, float* sa, short* sums, int nb)
    {
        float* half = HalfPointer;
        var low = Vector256.Create((byte)0x0F);
        var even = Vector256.Create(EvenScales);
        var odd = Vector256.Create(OddScales);
        var minWords = MinWords;
        var acc = Vector256<float>.Zero;
        var mins = Vector256<float>.Zero;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockQ4_K.Bytes);
            byte* qs = x + Q4_KLayout.HeaderBytes;
            sbyte* q8 = a + (b * 256);
            WeightPrefetch.Block(x, 3);
            Unpack(x + 4, out ulong packedScales, out ulong packedMins);
            var scaleBytes = Vector256.Create(packedScales).AsByte();
            var evenDots = Vector256<short>.Zero;
            var oddDots = Vector256<short>.Zero;
            for (int quarter = 0; quarter < 4; quarter++)
            {
                // Quarter 2k + j: half k, words 8j..8j+7; its low nibbles meet K4 bytes 128k + 32j, the high ones 64 further.
                var q = Avx.LoadVector256(qs + (32 * quarter));
                sbyte* at = q8 + (128 * (quarter >> 1)) + (32 * (quarter & 1));
                evenDots += Avx2.MultiplyAddAdjacent(q & low, Avx.LoadVector256(at));
                oddDots += Avx2.MultiplyAddAdjacent(Avx2.ShiftRightLogical(q.AsUInt16(), 4).AsByte() & low, Avx.LoadVector256(at + 64));
            }
            var sumi = Avx2.MultiplyAddAdjacent(evenDots, Avx2.Shuffle(scaleBytes, even).AsInt16())
                + Avx2.MultiplyAddAdjacent(oddDots, Avx2.Shuffle(scaleBytes, odd).AsInt16());
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sumi), Vector256.Create(half[*(ushort*)x] * sa[b]), acc);
            var minTerms = Avx2.MultiplyAddAdjacent(Avx.LoadVector256(sums + (b * 16)), Avx2.Shuffle(Vector256.Create(packedMins).AsByte(), minWords).AsInt16());
            mins = Fma.MultiplyAdd(Avx.ConvertToVector256Single(minTerms), Vector256.Create(half[*(ushort*)(x + 2)] * sa[b]), mins);
        }
        return Vector256.Sum(acc) - Vector256.Sum(mins);
    }

    /// <summary>
    /// One Q4_K row · four activation rows (K4 order, <paramref name="columns"/> apart): the block's nibbles and scales
    /// are unpacked once for the four; each row's lanes take the one-row kernel's operations in its order.
    /// </summary>
    private static void Q4_KAvx512x4(byte* w, sbyte* a, int columns, float* sa, short* sums, int nb, float* result)
    {
        float* half = HalfPointer;
        var low = Vector512.Create((byte)0x0F);
        var even = Vector512.Create(EvenScales);
        var odd = Vector512.Create(OddScales);
        var minWords = MinWords;
        Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        Vector256<float> m0 = default, m1 = default, m2 = default, m3 = default;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockQ4_K.Bytes);
            WeightPrefetch.Block(x, 3);
            Unpack(x + 4, out ulong packedScales, out ulong packedMins);
            var scaleBytes = Vector512.Create(packedScales).AsByte();
            var se = Avx512BW.Shuffle(scaleBytes, even).AsInt16();
            var so = Avx512BW.Shuffle(scaleBytes, odd).AsInt16();
            var mw = Avx2.Shuffle(Vector256.Create(packedMins).AsByte(), minWords).AsInt16();
            var q0 = Avx512BW.LoadVector512(x + Q4_KLayout.HeaderBytes);
            var q1 = Avx512BW.LoadVector512(x + Q4_KLayout.HeaderBytes + 64);
            Vector512<byte> lo0 = q0 & low, lo1 = q1 & low, hi0 = DecodeMatVec.HighNibbles(q0), hi1 = DecodeMatVec.HighNibbles(q1);
            float d = half[*(ushort*)x], dmin = half[*(ushort*)(x + 2)];
            acc0 = Q4_KBlock(lo0, lo1, hi0, hi1, se, so, a + (b * 256), d * sa[b], acc0);
            acc1 = Q4_KBlock(lo0, lo1, hi0, hi1, se, so, a + columns + (b * 256), d * sa[nb + b], acc1);
            acc2 = Q4_KBlock(lo0, lo1, hi0, hi1, se, so, a + (2 * columns) + (b * 256), d * sa[(2 * nb) + b], acc2);
            acc3 = Q4_KBlock(lo0, lo1, hi0, hi1, se, so, a + (3 * columns) + (b * 256), d * sa[(3 * nb) + b], acc3);
            m0 = Q4_KMins(mw, sums + (b * 16), dmin * sa[b], m0);
            m1 = Q4_KMins(mw, sums + ((nb + b) * 16), dmin * sa[nb + b], m1);
            m2 = Q4_KMins(mw, sums + (((2 * nb) + b) * 16), dmin * sa[(2 * nb) + b], m2);
            m3 = Q4_KMins(mw, sums + (((3 * nb) + b) * 16), dmin * sa[(3 * nb) + b], m3);
        }
        result[0] = Vector512.Sum(acc0) - Vector256.Sum(m0);
        result[1] = Vector512.Sum(acc1) - Vector256.Sum(m1);
        result[2] = Vector512.Sum(acc2) - Vector256.Sum(m2);
        result[3] = Vector512.Sum(acc3) - Vector256.Sum(m3);
    }

    /// <summary>One block of one activation row from the unpacked nibbles and spread scales (the one-row kernel's steps).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Q4_KBlock(Vector512<byte> lo0, Vector512<byte> lo1, Vector512<byte> hi0, Vector512<byte> hi1,
        Vector512<short> se, Vector512<short> so, sbyte* q8, float factor, Vector512<float> acc)
    {
        var evenDots = Avx512BW.MultiplyAddAdjacent(lo0, Avx512BW.LoadVector512(q8)) + Avx512BW.MultiplyAddAdjacent(lo1, Avx512BW.LoadVector512(q8 + 128));
        var oddDots = Avx512BW.MultiplyAddAdjacent(hi0, Avx512BW.LoadVector512(q8 + 64)) + Avx512BW.MultiplyAddAdjacent(hi1, Avx512BW.LoadVector512(q8 + 192));
        var sumi = Avx512BW.MultiplyAddAdjacent(evenDots, se) + Avx512BW.MultiplyAddAdjacent(oddDots, so);
        return Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sumi), Vector512.Create(factor), acc);
    }

    /// <summary>One block's minimum terms of one activation row (the one-row kernel's steps).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Q4_KMins(Vector256<short> minWords, short* sums, float factor, Vector256<float> mins) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(Avx.LoadVector256(sums), minWords)), Vector256.Create(factor), mins);
}
