using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Quantization;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// One weight row of 32-value blocks kept in GGUF layout (Q4_1, Q5_0, Q5_1, IQ4_NL) · one <see cref="Q8Activations"/> row,
/// as llama.cpp multiplies them: <c>Σ_b s_a(b)·(d_w·Σ q_w·q_a + m_w·Σ q_a)</c> (m only for the _1 formats; Q5_0's −16 is
/// a minimum of −16·d). The activation sums come from <see cref="Q8Activations.Q4Offsets"/> (−8·Σq).
/// </summary>
internal static unsafe class LegacyBlockDot
{
    /// <summary>Whether <paramref name="type"/> is a 32-value format kept in GGUF layout.</summary>
    public static bool Handles(GgufTensorType type) => type is GgufTensorType.Q4_1 or GgufTensorType.Q5_0 or GgufTensorType.Q5_1 or GgufTensorType.IQ4_NL;

    /// <summary>Row dot; <paramref name="offsets"/>: 8 ints per activation block, the first −8·Σq.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(GgufTensorType type, KernelIsa isa, byte* w, sbyte* a, float* sa, int* offsets, int nb) =>
        isa == KernelIsa.Scalar ? Scalar(type, w, a, sa, offsets, nb) : Avx2Dot(type, w, a, sa, offsets, nb);

    public static float Scalar(GgufTensorType type, byte* w, sbyte* a, float* sa, int* offsets, int nb)
    {
        int blockBytes = BlockBytes(type);
        ReadOnlySpan<sbyte> grid = BlockIQ4_NL.Grid;
        float sum = 0;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * blockBytes);
            sbyte* q8 = a + (b * 32);
            byte* qs = Fields(type, x, out uint qh, out float d, out float m);
            int dot = 0;
            for (int j = 0; j < 16; j++)
            {
                int lo = qs[j] & 0x0F, hi = qs[j] >> 4;
                if (type == GgufTensorType.IQ4_NL) (lo, hi) = (grid[lo], grid[hi]);
                lo |= (int)((qh >> j) & 1) << 4;
                hi |= (int)((qh >> (j + 16)) & 1) << 4;
                dot += (lo * q8[j]) + (hi * q8[j + 16]);
            }
            sum += sa[b] * ((d * dot) + (m * (offsets[b * 8] / -8)));
        }
        return sum;
    }

    private static float Avx2Dot(GgufTensorType type, byte* w, sbyte* a, float* sa, int* offsets, int nb)
    {
        int blockBytes = BlockBytes(type);
        var low = Vector128.Create((byte)0x0F);
        var ones = Vector256.Create((short)1);
        var grid = Vector256.Create(Vector128.Create(BlockIQ4_NL.Grid).AsByte());
        // Spreads bit j of a 32-bit word to byte j: byte j takes word byte j/8, then tests its bit j%8.
        var spread = Vector256.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        var bits = Vector256.Create(0x8040201008040201UL).AsByte();
        var fifth = Vector256.Create((byte)0x10);
        var accD = Vector256<float>.Zero;
        float accM = 0;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + ((long)b * blockBytes);
            byte* qs = Fields(type, x, out uint qh, out float d, out float m);
            var packed = Sse2.LoadVector128(qs);
            var codes = Vector256.Create(packed & low, Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & low); // values 0..31 in order
            var av = Avx.LoadVector256(a + (b * 32));
            Vector256<short> products;
            if (type == GgufTensorType.IQ4_NL)
            {
                var values = Avx2.Shuffle(grid, codes).AsSByte();
                products = Avx2.MultiplyAddAdjacent(Avx2.Abs(values), Avx2.Sign(av, values));
            }
            else
            {
                if (type != GgufTensorType.Q4_1)
                {
                    var high = Avx2.Shuffle(Vector256.Create(qh).AsByte(), spread) & bits;
                    codes |= Vector256.Equals(high, bits) & fifth;
                }
                products = Avx2.MultiplyAddAdjacent(codes, av);
            }
            accD = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(products, ones)), Vector256.Create(d * sa[b]), accD);
            accM += m * sa[b] * (offsets[b * 8] / -8);
        }
        return Vector256.Sum(accD) + accM;
    }

    /// <summary>A block's nibbles, fifth bits, scale and minimum (Q5_0's −16 offset is the minimum −16·d).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* Fields(GgufTensorType type, byte* x, out uint qh, out float d, out float m)
    {
        d = HalfTable.Values[*(ushort*)x];
        switch (type)
        {
            case GgufTensorType.Q4_1: (qh, m) = (0u, HalfTable.Values[*(ushort*)(x + 2)]); return x + 4;
            case GgufTensorType.Q5_0: (qh, m) = (*(uint*)(x + 2), -16 * d); return x + 6;
            case GgufTensorType.Q5_1: (qh, m) = (*(uint*)(x + 4), HalfTable.Values[*(ushort*)(x + 2)]); return x + 8;
            default: (qh, m) = (0u, 0f); return x + 2;
        }
    }

    private static int BlockBytes(GgufTensorType type) => type switch
    {
        GgufTensorType.Q4_1 => BlockQ4_1.Bytes,
        GgufTensorType.Q5_0 => BlockQ5_0.Bytes,
        GgufTensorType.Q5_1 => BlockQ5_1.Bytes,
        _ => BlockIQ4_NL.Bytes,
    };
}
