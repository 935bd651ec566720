using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using QuickSilver.Engine.Quantization;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// The AVX2 and AVX-512 paths of <see cref="KQuantDot"/>. Codes are unsigned (a format's −32/−4 offset or minimum goes
/// through the activations' 16-value sums), so one maddubs (u8 × s8 → s16, never saturating: |q| ≤ 63, |a| ≤ 127) and one
/// madd by the sub-block scale give int32 lanes; a block's lanes are converted and scaled once.
/// </summary>
internal static unsafe partial class KQuantDot
{
    private static float Q5_KAvx2(byte* w, sbyte* a, float* sa, short* sums, int nb)
    {
        float* half = HalfPointer;
        var low = Vector256.Create((byte)0x0F);
        var fifth = Vector256.Create((byte)0x10);
        int* s = stackalloc int[16];
        var acc = Vector256<float>.Zero;
        float mins = 0;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockQ5_K.Bytes);
            sbyte* q8 = a + (b * 256);
            ScalesAndMins(x + 4, s);
            var qh = Avx.LoadVector256(x + 16).AsUInt16(); // bit k of each byte: sub-block k; shifted right by 2 per chunk
            var sumi = Vector256<int>.Zero;
            for (int c = 0; c < 4; c++)
            {
                var q = Avx.LoadVector256(x + 48 + (32 * c));
                var lo = (q & low) | (Avx2.ShiftLeftLogical(qh, 4).AsByte() & fifth);
                var hi = (Avx2.ShiftRightLogical(q.AsUInt16(), 4).AsByte() & low) | (Avx2.ShiftLeftLogical(qh, 3).AsByte() & fifth);
                qh = Avx2.ShiftRightLogical(qh, 2);
                var plo = Avx2.MultiplyAddAdjacent(lo, Avx.LoadVector256(q8 + (64 * c)));
                var phi = Avx2.MultiplyAddAdjacent(hi, Avx.LoadVector256(q8 + (64 * c) + 32));
                sumi += Avx2.MultiplyAddAdjacent(plo, Vector256.Create((short)s[2 * c])) + Avx2.MultiplyAddAdjacent(phi, Vector256.Create((short)s[(2 * c) + 1]));
            }
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sumi), Vector256.Create(half[*(ushort*)x] * sa[b]), acc);
            mins += half[*(ushort*)(x + 2)] * sa[b] * MinSum(s, sums + (b * 16));
        }
        return Vector256.Sum(acc) - mins;
    }

    private static float Q5_KAvx512(byte* w, sbyte* a, float* sa, short* sums, int nb)
    {
        float* half = HalfPointer;
        var low = Vector256.Create((byte)0x0F);
        var fifth = Vector256.Create((byte)0x10);
        int* s = stackalloc int[16];
        var acc = Vector512<float>.Zero;
        float mins = 0;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockQ5_K.Bytes);
            sbyte* q8 = a + (b * 256);
            ScalesAndMins(x + 4, s);
            var qh = Avx.LoadVector256(x + 16).AsUInt16();
            var sumi = Vector512<int>.Zero;
            for (int c = 0; c < 4; c++)
            {
                var q = Avx.LoadVector256(x + 48 + (32 * c));
                var lo = (q & low) | (Avx2.ShiftLeftLogical(qh, 4).AsByte() & fifth);
                var hi = (Avx2.ShiftRightLogical(q.AsUInt16(), 4).AsByte() & low) | (Avx2.ShiftLeftLogical(qh, 3).AsByte() & fifth);
                qh = Avx2.ShiftRightLogical(qh, 2);
                var products = Avx512BW.MultiplyAddAdjacent(Vector512.Create(lo, hi), Avx512BW.LoadVector512(q8 + (64 * c)));
                sumi += Avx512BW.MultiplyAddAdjacent(products, Vector512.Create(Vector256.Create((short)s[2 * c]), Vector256.Create((short)s[(2 * c) + 1])));
            }
            acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sumi), Vector512.Create(half[*(ushort*)x] * sa[b]), acc);
            mins += half[*(ushort*)(x + 2)] * sa[b] * MinSum(s, sums + (b * 16));
        }
        return Vector512.Sum(acc) - mins;
    }

    private static float Q6_KAvx2(byte* w, sbyte* a, float* sa, short* sums, int nb)
    {
        float* half = HalfPointer;
        var low = Vector256.Create((byte)0x0F);
        var top = Vector256.Create((byte)0x30);
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockQ6_K.Bytes);
            sbyte* q8 = a + (b * 256);
            WeightPrefetch.Block(x, 4);
            sbyte* sc = (sbyte*)x + 192;
            var scales = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(sc));
            // Σ (q − 32)·a = Σ q·a − 32·Σa: the offset through the 16-value activation sums.
            var sumi = Avx2.ShiftLeftLogical(Avx2.MultiplyAddAdjacent(scales, Avx.LoadVector256(sums + (b * 16))), 5);
            sumi = Vector256<int>.Zero - sumi;
            for (int h = 0; h < 2; h++)
            {
                var ql0 = Avx.LoadVector256(x + (64 * h));
                var ql1 = Avx.LoadVector256(x + (64 * h) + 32);
                var qh = Avx.LoadVector256(x + 128 + (32 * h)).AsUInt16();
                var q0 = (ql0 & low) | (Avx2.ShiftLeftLogical(qh, 4).AsByte() & top);
                var q1 = (ql1 & low) | (Avx2.ShiftLeftLogical(qh, 2).AsByte() & top);
                var q2 = (Avx2.ShiftRightLogical(ql0.AsUInt16(), 4).AsByte() & low) | (qh.AsByte() & top);
                var q3 = (Avx2.ShiftRightLogical(ql1.AsUInt16(), 4).AsByte() & low) | (Avx2.ShiftRightLogical(qh, 2).AsByte() & top);
                sbyte* ah = q8 + (128 * h);
                int s0 = 8 * h;
                sumi += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q0, Avx.LoadVector256(ah)), Pair(sc[s0], sc[s0 + 1]))
                    + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q1, Avx.LoadVector256(ah + 32)), Pair(sc[s0 + 2], sc[s0 + 3]))
                    + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q2, Avx.LoadVector256(ah + 64)), Pair(sc[s0 + 4], sc[s0 + 5]))
                    + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q3, Avx.LoadVector256(ah + 96)), Pair(sc[s0 + 6], sc[s0 + 7]));
            }
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sumi), Vector256.Create(half[*(ushort*)(x + 208)] * sa[b]), acc);
        }
        return Vector256.Sum(acc);
    }

    private static float Q6_KAvx512(byte* w, sbyte* a, float* sa, short* sums, int nb) => Vector512.Sum(Q6_KAvx512Lanes(w, a, sa, sums, nb));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Q6_KAvx512Lanes(byte* w, sbyte* a, float* sa, short* sums, int nb)
    {
        float* half = HalfPointer;
        var low = Vector512.Create((byte)0x0F);
        var top = Vector256.Create((byte)0x30);
        // vpermw indices spreading four 16-value sub-blocks' scales over 8 int16 lanes each.
        var spread = Vector512.Create((short)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        var four = Vector512.Create((short)4);
        // GF(2) affine matrices (one per 64-bit lane) moving a 2-bit field of each qh byte to bits 4..5, all else cleared:
        // fields 0 and 1 (values 0..63 of a half: [bits 0..1 | bits 2..3]), fields 2 and 3 (64..127: [4..5 | 6..7]).
        var gfniLow = Vector512.Create(Vector256.Create(0x01020000UL), Vector256.Create(0x04080000UL)).AsByte();
        var gfniHigh = Vector512.Create(Vector256.Create(0x10200000UL), Vector256.Create(0x40800000UL)).AsByte();
        Vector512<short> spread4 = spread + four, spread8 = spread4 + four, spread12 = spread8 + four;
        var acc = Vector512<float>.Zero;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockQ6_K.Bytes);
            sbyte* q8 = a + (b * 256);
            WeightPrefetch.Block(x, 4);
            var scales16 = Avx2.ConvertToVector256Int16(Sse2.LoadVector128((sbyte*)x + 192));
            var scales = Join(scales16.AsByte(), scales16.AsByte()).AsInt16();
            var offset = Avx2.ShiftLeftLogical(Avx2.MultiplyAddAdjacent(scales16, Avx.LoadVector256(sums + (b * 16))), 5);
            var sumi = (Vector256<int>.Zero - offset).ToVector512(); // upper half zero
            if (Gfni.V512.IsSupported)
            {
                sumi += Q6_KHalfDots(x, q8, scales, spread, spread4, gfniLow, gfniHigh);
                sumi += Q6_KHalfDots(x + 64, q8 + 128, scales, spread8, spread12, gfniLow, gfniHigh, qhOffset: 128 + 32 - 64);
                acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sumi), Vector512.Create(half[*(ushort*)(x + 208)] * sa[b]), acc);
                continue;
            }
            var index = spread;
            for (int h = 0; h < 2; h++)
            {
                var ql = Avx512BW.LoadVector512(x + (64 * h));
                var qh = Avx.LoadVector256(x + 128 + (32 * h)).AsUInt16();
                var qa = (ql & low) | Join(Avx2.ShiftLeftLogical(qh, 4).AsByte() & top, Avx2.ShiftLeftLogical(qh, 2).AsByte() & top);
                var qb = (Avx512BW.ShiftRightLogical(ql.AsUInt16(), 4).AsByte() & low) | Join(qh.AsByte() & top, Avx2.ShiftRightLogical(qh, 2).AsByte() & top);
                sbyte* ah = q8 + (128 * h);
                sumi += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(qa, Avx512BW.LoadVector512(ah)), Avx512BW.PermuteVar32x16(scales, index));
                index += four;
                sumi += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(qb, Avx512BW.LoadVector512(ah + 64)), Avx512BW.PermuteVar32x16(scales, index));
                index += four;
            }
            acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sumi), Vector512.Create(half[*(ushort*)(x + 208)] * sa[b]), acc);
        }
        return acc;
    }

    /// <summary>
    /// One half of a Q6_K block (128 values) with GFNI: the 32 qh bytes broadcast to both 256-bit halves, where one affine
    /// transform per code vector moves each half's 2-bit field into place (instead of two shifts, two masks and a join);
    /// the same int32 lanes as the shift-and-join loop (values 0..31 | 32..63, then 64..95 | 96..127).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Q6_KHalfDots(byte* ql, sbyte* q8, Vector512<short> scales, Vector512<short> indexA, Vector512<short> indexB,
        Vector512<byte> gfniLow, Vector512<byte> gfniHigh, int qhOffset = 128) =>
        Q6_KHalfDots(ql, Avx512BW.LoadVector512(q8), Avx512BW.LoadVector512(q8 + 64), scales, indexA, indexB, gfniLow, gfniHigh, qhOffset);

    /// <summary>As above with the half's 128 activation codes already loaded (values 0..63, 64..127 of the half).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Q6_KHalfDots(byte* ql, Vector512<sbyte> a0, Vector512<sbyte> a1, Vector512<short> scales, Vector512<short> indexA, Vector512<short> indexB,
        Vector512<byte> gfniLow, Vector512<byte> gfniHigh, int qhOffset)
    {
        var low = Vector512.Create((byte)0x0F);
        var codes = Avx512BW.LoadVector512(ql);
        // Not Avx512F.BroadcastVector256ToVector512: with a constant offset folded into its address, .NET 10's JIT was seen
        // to read the wrong bytes (a standalone repro gave stack garbage); an insert of the loaded half is exact.
        var half = Avx.LoadVector256(ql + qhOffset);
        var qh = Join(half, half);
        var qa = (codes & low) | Gfni.V512.GaloisFieldAffineTransform(qh, gfniLow, 0);
        var qb = DecodeMatVec.HighNibbles(codes) | Gfni.V512.GaloisFieldAffineTransform(qh, gfniHigh, 0);
        var sumi = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(qa, a0), Avx512BW.PermuteVar32x16(scales, indexA));
        return sumi + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(qb, a1), Avx512BW.PermuteVar32x16(scales, indexB));
    }

    private static float Q3_KAvx2(byte* w, sbyte* a, float* sa, short* sums, int nb)
    {
        float* half = HalfPointer;
        var three = Vector256.Create((byte)3);
        var one = Vector256.Create((byte)1);
        Span<int> scales = stackalloc int[16];
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockQ3_K.Bytes);
            sbyte* q8 = a + (b * 256);
            short* bs = sums + (b * 16);
            BlockQ3_K.UnpackScales(new ReadOnlySpan<byte>(x + 96, 12), scales);
            // Codes are stored as q + 4·hbit − 4 ∈ [−4, 3]; multiply the unsigned q + 4·hbit and take 4·Σa back out.
            int offset = 0;
            for (int i = 0; i < 16; i++) offset += (scales[i] - 32) * bs[i];
            var sumi = Vector256.Create(-4 * offset, 0, 0, 0, 0, 0, 0, 0);
            var hmask = Avx.LoadVector256(x).AsUInt16();
            for (int h = 0; h < 2; h++)
            {
                var q = Avx.LoadVector256(x + 32 + (32 * h)).AsUInt16();
                for (int shift = 0; shift < 4; shift++)
                {
                    var codes = (q.AsByte() & three) | Avx2.ShiftLeftLogical((hmask.AsByte() & one).AsUInt16(), 2).AsByte();
                    q = Avx2.ShiftRightLogical(q, 2);
                    hmask = Avx2.ShiftRightLogical(hmask, 1); // bit k of each byte reaches bit 0 at step k; higher bits are never read
                    int sub = (8 * h) + (2 * shift);
                    sumi += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(codes, Avx.LoadVector256(q8 + (16 * sub))), Pair(scales[sub] - 32, scales[sub + 1] - 32));
                }
            }
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sumi), Vector256.Create(half[*(ushort*)(x + 108)] * sa[b]), acc);
        }
        return Vector256.Sum(acc);
    }

    private static float Q2_KAvx2(byte* w, sbyte* a, float* sa, short* sums, int nb)
    {
        float* half = HalfPointer;
        var three = Vector256.Create((byte)3);
        var acc = Vector256<float>.Zero;
        float mins = 0;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockQ2_K.Bytes);
            sbyte* q8 = a + (b * 256);
            short* bs = sums + (b * 16);
            int summ = 0;
            for (int i = 0; i < 16; i++) summ += (x[i] >> 4) * bs[i];
            var sumi = Vector256<int>.Zero;
            for (int h = 0; h < 2; h++)
            {
                var q = Avx.LoadVector256(x + 16 + (32 * h)).AsUInt16();
                for (int shift = 0; shift < 4; shift++)
                {
                    var codes = q.AsByte() & three;
                    q = Avx2.ShiftRightLogical(q, 2);
                    int sub = (8 * h) + (2 * shift);
                    sumi += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(codes, Avx.LoadVector256(q8 + (16 * sub))), Pair(x[sub] & 0x0F, x[sub + 1] & 0x0F));
                }
            }
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sumi), Vector256.Create(half[*(ushort*)(x + 80)] * sa[b]), acc);
            mins += half[*(ushort*)(x + 82)] * sa[b] * summ;
        }
        return Vector256.Sum(acc) - mins;
    }

    private static float IQ4_XSAvx2(byte* w, sbyte* a, float* sa, short* sums, int nb)
    {
        float* half = HalfPointer;
        var low = Vector128.Create((byte)0x0F);
        var grid = Vector256.Create(Vector128.Create(BlockIQ4_NL.Grid).AsByte()); // pshufb looks up within each 128-bit lane
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * BlockIQ4_XS.Bytes);
            sbyte* q8 = a + (b * 256);
            int scalesHigh = *(ushort*)(x + 2);
            var sumi = Vector256<int>.Zero;
            for (int i = 0; i < 8; i++)
            {
                int scale = ((x[4 + (i / 2)] >> (4 * (i % 2))) & 0x0F) | (((scalesHigh >> (2 * i)) & 3) << 4);
                var packed = Sse2.LoadVector128(x + 8 + (16 * i));
                var nibbles = Vector256.Create(packed & low, Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & low);
                var values = Avx2.Shuffle(grid, nibbles).AsSByte();
                // maddubs wants unsigned × signed: |w| × (a with w's sign).
                var products = Avx2.MultiplyAddAdjacent(Avx2.Abs(values), Avx2.Sign(Avx.LoadVector256(q8 + (32 * i)), values));
                sumi += Avx2.MultiplyAddAdjacent(products, Vector256.Create((short)(scale - 32)));
            }
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sumi), Vector256.Create(half[*(ushort*)x] * sa[b]), acc);
        }
        return Vector256.Sum(acc);
    }

    /// <summary>Σ_j min_j · Σa over sub-block j (32 values = two 16-value sums).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int MinSum(int* s, short* bs)
    {
        int sum = 0;
        for (int j = 0; j < 8; j++) sum += s[8 + j] * (bs[2 * j] + bs[(2 * j) + 1]);
        return sum;
    }

    /// <summary>Eight int16 lanes of <paramref name="first"/> then eight of <paramref name="second"/>: the scales of two 16-value sub-blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Pair(int first, int second) => Vector256.Create(Vector128.Create((short)first), Vector128.Create((short)second));

    private static float* HalfPointer => (float*)Unsafe.AsPointer(ref HalfTable.Values[0]);
}
