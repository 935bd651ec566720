using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// One weight row · one 8-bit activation row, block by block: <c>Σ_b d_w(b)·s_a(b)·Σ_i q_w·q_a</c>. The integer part is
/// exact on every path; only the float accumulation order differs. Q8_0 weights are int8 (|w| × ±a through maddubs); Q4_0 weights are unsigned
/// nibbles whose −8 offset comes in through <see cref="Q8Activations.Q4Offsets"/>.
/// </summary>
internal static unsafe class BlockDot
{
    /// <summary>Q8_0 row dot. <paramref name="w"/>: nb·32 codes; <paramref name="ws"/>: nb half scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Q8_0(KernelIsa isa, byte* w, ushort* ws, sbyte* a, sbyte* negated, float* sa, int nb) => isa switch
    {
        KernelIsa.Avx512 => Q8_0Avx512(w, ws, a, negated, sa, nb),
        KernelIsa.Avx2 => Q8_0Avx2(w, ws, a, sa, 0, nb, Vector256<float>.Zero),
        _ => Q8_0Scalar(w, ws, a, sa, nb),
    };

    /// <summary>Q4_0 row dot. <paramref name="w"/>: nb·16 nibble bytes as stored (<see cref="Q4_0Layout"/>); <paramref name="offsets"/>: 8 ints per block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Q4_0(KernelIsa isa, byte* w, ushort* ws, sbyte* a, int* offsets, float* sa, int nb) => isa switch
    {
        KernelIsa.Avx512 => Q4_0Avx512(w, ws, a, offsets, sa, nb),
        KernelIsa.Avx2 => Q4_0Avx2(w, ws, a, offsets, sa, 0, nb, Vector256<float>.Zero),
        _ => Q4_0Scalar(w, ws, a, sa, nb),
    };

    public static float Q8_0Scalar(byte* w, ushort* ws, sbyte* a, float* sa, int nb)
    {
        float* half = Table;
        float sum = 0;
        for (int b = 0; b < nb; b++)
        {
            int dot = 0;
            sbyte* wb = (sbyte*)w + (b * 32);
            sbyte* ab = a + (b * 32);
            for (int i = 0; i < 32; i++) dot += wb[i] * ab[i];
            sum += half[ws[b]] * sa[b] * dot;
        }
        return sum;
    }

    public static float Q4_0Scalar(byte* w, ushort* ws, sbyte* a, float* sa, int nb)
    {
        float* half = Table;
        float sum = 0;
        for (int b = 0; b < nb; b++)
        {
            int dot = 0;
            sbyte* ab = a + (b * 32);
            for (int i = 0; i < 16; i++)
            {
                byte packed = w[Q4_0Layout.Offset(nb, b, i)];
                dot += ((packed & 0x0F) - 8) * ab[i];
                dot += ((packed >> 4) - 8) * ab[i + 16];
            }
            sum += half[ws[b]] * sa[b] * dot;
        }
        return sum;
    }

    private static float Q8_0Avx2(byte* w, ushort* ws, sbyte* a, float* sa, int from, int nb, Vector256<float> acc)
    {
        float* half = Table;
        var ones = Vector256.Create((short)1);
        for (int b = from; b < nb; b++)
        {
            var wv = Avx.LoadVector256((sbyte*)w + (b * 32));
            var av = Avx.LoadVector256(a + (b * 32));
            // maddubs wants unsigned × signed: |w| × (a with w's sign).
            var products = Avx2.MultiplyAddAdjacent(Avx2.Abs(wv), Avx2.Sign(av, wv));
            var ints = Avx2.MultiplyAddAdjacent(products, ones);
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(ints), Vector256.Create(half[ws[b]] * sa[b]), acc);
        }
        return Vector256.Sum(acc);
    }

    private static float Q4_0Avx2(byte* w, ushort* ws, sbyte* a, int* offsets, float* sa, int from, int nb, Vector256<float> acc)
    {
        float* half = Table;
        var ones = Vector256.Create((short)1);
        var low = Vector128.Create((byte)0x0F);
        for (int b = from; b < nb; b++)
        {
            var packed = Q4_0Layout.LoadBlock(w, nb, b);
            var nibbles = Vector256.Create(packed & low, Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & low); // elements 0..31 in order
            var av = Avx.LoadVector256(a + (b * 32));
            var ints = Avx2.Add(Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(nibbles, av), ones), Avx.LoadVector256(offsets + (b * 8)));
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(ints), Vector256.Create(half[ws[b]] * sa[b]), acc);
        }
        return Vector256.Sum(acc);
    }

    private static float Q8_0Avx512(byte* w, ushort* ws, sbyte* a, sbyte* negated, float* sa, int nb)
    {
        float* half = Table;
        var ones = Vector512.Create((short)1);
        var acc = Vector512<float>.Zero;
        int b = 0;
        for (; b + 1 < nb; b += 2)
        {
            var wv = Avx512BW.LoadVector512((sbyte*)w + (b * 32));
            // maddubs wants unsigned × signed: |w| × (a with w's sign); AVX-512 has no vpsignb, so select a or −a.
            var signed = Vector512.ConditionalSelect(Vector512.LessThan(wv, Vector512<sbyte>.Zero), Avx512BW.LoadVector512(negated + (b * 32)), Avx512BW.LoadVector512(a + (b * 32)));
            var ints = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Avx512BW.Abs(wv), signed), ones);
            var scale = Vector512.Create(Vector256.Create(half[ws[b]] * sa[b]), Vector256.Create(half[ws[b + 1]] * sa[b + 1]));
            acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(ints), scale, acc);
        }
        float sum = Vector512.Sum(acc);
        return b < nb ? sum + Q8_0Avx2(w, ws, a, sa, b, nb, Vector256<float>.Zero) : sum;
    }

    private static float Q4_0Avx512(byte* w, ushort* ws, sbyte* a, int* offsets, float* sa, int nb)
    {
        float* half = Table;
        var ones = Vector512.Create((short)1);
        var low = Vector256.Create((byte)0x0F);
        var acc = Vector512<float>.Zero;
        int b = 0;
        for (; b + 1 < nb; b += 2)
        {
            var packed = Vector256.Create(Q4_0Layout.LoadBlock(w, nb, b), Q4_0Layout.LoadBlock(w, nb, b + 1)); // block b in the low 128 bits, b+1 in the high
            var lo = packed & low;
            var hi = Avx2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & low;
            // [lo_b, lo_b1, hi_b, hi_b1] → [lo_b, hi_b, lo_b1, hi_b1]: both blocks' 32 values in element order.
            var both = Vector512.Create(lo, hi).AsInt32();
            var nibbles = Avx512F.Shuffle4x128(both, both, 0b11_01_10_00).AsByte();
            var av = Avx512BW.LoadVector512(a + (b * 32));
            var ints = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(nibbles, av), ones) + Avx512F.LoadVector512(offsets + (b * 8));
            var scale = Vector512.Create(Vector256.Create(half[ws[b]] * sa[b]), Vector256.Create(half[ws[b + 1]] * sa[b + 1]));
            acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(ints), scale, acc);
        }
        float sum = Vector512.Sum(acc);
        return b < nb ? sum + Q4_0Avx2(w, ws, a, offsets, sa, b, nb, Vector256<float>.Zero) : sum;
    }

    private static float* Table => (float*)Unsafe.AsPointer(ref HalfTable.Values[0]);
}
