using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// One bit-plane weight row (<see cref="BitPlaneMatrix"/>) · one 8-bit activation row (<see cref="PlaneActivations"/>),
/// reading only the planes of the requested width. Per block, with unsigned plane codes and activation codes a:
/// 8 bits <c>16·Σhi·a + Σlo·a − 128·Σa</c>, 4 bits <c>16·Σhi·a − 120·Σa</c>, 2 bits <c>64·Σtop·a − 96·Σa</c>
/// (hi = top·4 + middle, lo the low nibble), times the two block scales. The integer part is exact on every path.
/// </summary>
/// <remarks>
/// The AVX-512 path takes 16 blocks per step as the Q8_0 decode kernel does: per chunk of 8 blocks it rebuilds the high
/// nibbles of 256 weights from one 64-byte load of each 2-bit plane with two bitwise selects, multiplies the four nibble
/// vectors with maddubs (their int16 sums stay below 4·2·15·127), widens with one madd to two int32 lanes per block,
/// then reduces two chunks to one lane per block, widens the 16 half scales at once and adds the step with one FMA.
/// </remarks>
internal static unsafe class PlaneDot
{
    /// <summary>The row dot at <paramref name="bits"/> on path <paramref name="isa"/>; <paramref name="nsb"/> super-blocks.</summary>
    /// <param name="sa">The row's block scales, zero-padded to whole steps of 16 blocks.</param>
    /// <param name="sums">The row's block code sums, padded like <paramref name="sa"/>.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(KernelIsa isa, int bits, byte* top, byte* middle, byte* low, ushort* ws, sbyte* a, float* sa, int* sums, int nsb) => isa switch
    {
        KernelIsa.Avx512 => bits switch
        {
            8 => Avx512<Bits8>(top, middle, low, ws, a, sa, sums, nsb),
            4 => Avx512<Bits4>(top, middle, low, ws, a, sa, sums, nsb),
            _ => Avx512<Bits2>(top, middle, low, ws, a, sa, sums, nsb),
        },
        KernelIsa.Avx2 => bits switch
        {
            8 => Avx2Dot<Bits8>(top, middle, low, ws, a, sa, sums, nsb),
            4 => Avx2Dot<Bits4>(top, middle, low, ws, a, sa, sums, nsb),
            _ => Avx2Dot<Bits2>(top, middle, low, ws, a, sa, sums, nsb),
        },
        _ => Scalar(bits, top, middle, low, ws, a, sa, nsb),
    };

    /// <summary>The portable definition every SIMD path is tested against (the plane layout read weight by weight).</summary>
    public static float Scalar(int bits, byte* top, byte* middle, byte* low, ushort* ws, sbyte* a, float* sa, int nsb)
    {
        float* half = Table;
        float sum = 0;
        for (int b = 0; b < 4 * nsb; b++)
        {
            int dot = 0, asum = 0;
            for (int e = 0; e < 32; e++)
            {
                int column = (32 * b) + e;
                var (t, m, l, lowShift) = BitPlaneMatrix.Locate(column, nsb);
                int s = column / BitPlaneMatrix.SuperBlockSize, chunk = s / 2, c = Math.Min(2, nsb - (2 * chunk));
                int av = a[(256 * chunk) + (32 * c * (e / 8)) + (t.Byte - (64 * chunk))]; // plane order: quarter e/8, then byte p
                int top2 = (top[t.Byte] >> t.Shift) & 3;
                asum += av;
                if (bits == 2) { dot += 64 * top2 * av; continue; }
                int hi = (top2 << 2) | ((middle[m.Byte] >> m.Shift) & 3);
                if (bits == 4) { dot += 16 * hi * av; continue; }
                dot += ((16 * hi) + ((low[l] >> lowShift) & 0x0F)) * av;
            }
            dot -= (bits == 8 ? 128 : bits == 4 ? 120 : 96) * asum;
            sum += half[ws[b]] * sa[b] * dot;
        }
        return sum;
    }

    private static float Avx512<TWidth>(byte* top, byte* middle, byte* low, ushort* ws, sbyte* a, float* sa, int* sums, int nsb) where TWidth : struct, IPlaneWidth
    {
        var acc = Vector512<float>.Zero;
        int s = 0;
        for (; s + 4 <= nsb; s += 4)
        {
            // Two full chunks: blocks 4s..4s+15.
            var v0 = TWidth.Chunk512(top + (32 * s), middle + (32 * s), low + (64 * s), a + (128 * s));
            var v1 = TWidth.Chunk512(top + (32 * s) + 64, middle + (32 * s) + 64, low + (64 * s) + 128, a + (128 * s) + 256);
            acc = Accumulate<TWidth>(Pair(v0, v1), Avx.LoadVector256(ws + (4 * s)), sa + (4 * s), sums + (4 * s), acc);
        }
        if (s < nsb) acc = Tail<TWidth>(top + (32 * s), middle + (32 * s), low + (64 * s), ws + (4 * s), a + (128 * s), sa + (4 * s), sums + (4 * s), nsb - s, acc);
        return Vector512.Sum(acc);
    }

    // The last 1..3 super-blocks: a full chunk and/or a one-super-block chunk; absent lanes and scales are zero.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector512<float> Tail<TWidth>(byte* top, byte* middle, byte* low, ushort* ws, sbyte* a, float* sa, int* sums, int count, Vector512<float> acc) where TWidth : struct, IPlaneWidth
    {
        Vector512<int> v0, v1 = Vector512<int>.Zero;
        if (count >= 2)
        {
            v0 = TWidth.Chunk512(top, middle, low, a);
            if (count == 3) v1 = TWidth.Chunk256(top + 64, middle + 64, low + 128, low + 160, a + 256, 32).ToVector512();
        }
        else v0 = TWidth.Chunk256(top, middle, low, low + 32, a, 32).ToVector512();
        ushort* scales = stackalloc ushort[16];
        for (int i = 0; i < 16; i++) scales[i] = i < 4 * count ? ws[i] : (ushort)0;
        return Accumulate<TWidth>(Pair(v0, v1), Avx.LoadVector256(scales), sa, sums, acc);
    }

    /// <summary>acc + float(width-combined dots and code sums) · half(ws) · sa for 16 blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Accumulate<TWidth>(Vector512<int> dots, Vector256<ushort> halves, float* sa, int* sums, Vector512<float> acc) where TWidth : struct, IPlaneWidth
    {
        var ints = TWidth.Combine(dots, Avx512F.LoadVector512(sums));
        var scale = DecodeMatVec.HalfToSingle(halves) * Avx512F.LoadVector512(sa);
        return Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(ints), scale, acc);
    }

    /// <summary>Two chunks of 8 blocks × 2 lanes → one lane per block, block order kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Pair(Vector512<int> x, Vector512<int> y)
    {
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odd = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        return Avx512F.PermuteVar16x32x2(x, even, y) + Avx512F.PermuteVar16x32x2(x, odd, y);
    }

    private static float Avx2Dot<TWidth>(byte* top, byte* middle, byte* low, ushort* ws, sbyte* a, float* sa, int* sums, int nsb) where TWidth : struct, IPlaneWidth
    {
        float* half = Table;
        int* lanes = stackalloc int[8];
        float sum = 0;
        for (int s = 0; s < nsb; s++)
        {
            // Super-block s is half h of chunk s/2 (c super-blocks): its bytes start 32h into each part of the chunk.
            int chunk = s / 2, h = s % 2, c = Math.Min(2, nsb - (2 * chunk));
            byte* l0 = low + (128 * chunk) + (32 * h);
            TWidth.Chunk256(top + (32 * s), middle + (32 * s), l0, l0 + (32 * c), a + (256 * chunk) + (32 * h), 32 * c).Store(lanes);
            for (int k = 0; k < 4; k++)
            {
                int b = (4 * s) + k;
                sum += half[ws[b]] * sa[b] * TWidth.Combine(lanes[2 * k] + lanes[(2 * k) + 1], sums[b]);
            }
        }
        return sum;
    }

    private static float* Table => (float*)Unsafe.AsPointer(ref HalfTable.Values[0]);

    /// <summary>
    /// The planes one width reads. Chunk dots: lanes 2b, 2b+1 sum to block b's integer dot of unsigned plane codes (for 8
    /// bits already 16·hi + lo); <see cref="Combine(int, int)"/> scales it and removes the code offset with the block's Σa.
    /// </summary>
    private interface IPlaneWidth
    {
        /// <summary>A full chunk (8 blocks): 64 bytes of each 2-bit plane, 2·64 of the low plane, 4·64 codes.</summary>
        static abstract Vector512<int> Chunk512(byte* top, byte* middle, byte* low, sbyte* a);

        /// <summary>One super-block (4 blocks): 32 bytes of each 2-bit plane, low parts at low0/low1, quarters of codes aStride apart.</summary>
        static abstract Vector256<int> Chunk256(byte* top, byte* middle, byte* low0, byte* low1, sbyte* a, int aStride);

        static abstract Vector512<int> Combine(Vector512<int> dots, Vector512<int> sums);

        static abstract int Combine(int dot, int sum);
    }

    private readonly struct Bits8 : IPlaneWidth
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Chunk512(byte* top, byte* middle, byte* low, sbyte* a)
        {
            var f = Vector512.Create((byte)0x0F);
            var (a0, a1, a2, a3) = (Avx512BW.LoadVector512(a), Avx512BW.LoadVector512(a + 64), Avx512BW.LoadVector512(a + 128), Avx512BW.LoadVector512(a + 192));
            var hi = Bits4.High512(top, middle, a0, a1, a2, a3);
            var l0 = Avx512BW.LoadVector512(low).AsUInt16();
            var l1 = Avx512BW.LoadVector512(low + 64).AsUInt16();
            var lo = Avx512BW.MultiplyAddAdjacent(l0.AsByte() & f, a0) + Avx512BW.MultiplyAddAdjacent(Vector512.ShiftRightLogical(l0, 4).AsByte() & f, a1)
                + Avx512BW.MultiplyAddAdjacent(l1.AsByte() & f, a2) + Avx512BW.MultiplyAddAdjacent(Vector512.ShiftRightLogical(l1, 4).AsByte() & f, a3);
            return Avx512BW.MultiplyAddAdjacent(hi, Vector512.Create((short)16)) + Avx512BW.MultiplyAddAdjacent(lo, Vector512.Create((short)1));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Chunk256(byte* top, byte* middle, byte* low0, byte* low1, sbyte* a, int aStride)
        {
            var f = Vector256.Create((byte)0x0F);
            var (a0, a1, a2, a3) = (Avx.LoadVector256(a), Avx.LoadVector256(a + aStride), Avx.LoadVector256(a + (2 * aStride)), Avx.LoadVector256(a + (3 * aStride)));
            var hi = Bits4.High256(top, middle, a0, a1, a2, a3);
            var l0 = Avx.LoadVector256(low0).AsUInt16();
            var l1 = Avx.LoadVector256(low1).AsUInt16();
            var lo = Avx2.MultiplyAddAdjacent(l0.AsByte() & f, a0) + Avx2.MultiplyAddAdjacent(Vector256.ShiftRightLogical(l0, 4).AsByte() & f, a1)
                + Avx2.MultiplyAddAdjacent(l1.AsByte() & f, a2) + Avx2.MultiplyAddAdjacent(Vector256.ShiftRightLogical(l1, 4).AsByte() & f, a3);
            return Avx2.MultiplyAddAdjacent(hi, Vector256.Create((short)16)) + Avx2.MultiplyAddAdjacent(lo, Vector256.Create((short)1));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Combine(Vector512<int> dots, Vector512<int> sums) => dots - Vector512.ShiftLeft(sums, 7);

        public static int Combine(int dot, int sum) => dot - (128 * sum);
    }

    private readonly struct Bits4 : IPlaneWidth
    {
        /// <summary>
        /// Σ hi·a as int16 pair sums: (top, middle) and (top ≪ 2, middle ≫ 2) selected bitwise by 0xCC are the packed high
        /// nibbles of quarters 0|1 and 2|3 (the interleave of <see cref="BitPlaneMatrix"/>).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static Vector512<short> High512(byte* top, byte* middle, Vector512<sbyte> a0, Vector512<sbyte> a1, Vector512<sbyte> a2, Vector512<sbyte> a3)
        {
            var f = Vector512.Create((byte)0x0F);
            var select = Vector512.Create((byte)0xCC);
            var t = Avx512BW.LoadVector512(top).AsUInt16();
            var m = Avx512BW.LoadVector512(middle).AsUInt16();
            var h01 = Vector512.ConditionalSelect(select, t.AsByte(), m.AsByte()).AsUInt16();
            var h23 = Vector512.ConditionalSelect(select, Vector512.ShiftLeft(t, 2).AsByte(), Vector512.ShiftRightLogical(m, 2).AsByte()).AsUInt16();
            return Avx512BW.MultiplyAddAdjacent(h01.AsByte() & f, a0) + Avx512BW.MultiplyAddAdjacent(Vector512.ShiftRightLogical(h01, 4).AsByte() & f, a1)
                + Avx512BW.MultiplyAddAdjacent(h23.AsByte() & f, a2) + Avx512BW.MultiplyAddAdjacent(Vector512.ShiftRightLogical(h23, 4).AsByte() & f, a3);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static Vector256<short> High256(byte* top, byte* middle, Vector256<sbyte> a0, Vector256<sbyte> a1, Vector256<sbyte> a2, Vector256<sbyte> a3)
        {
            var f = Vector256.Create((byte)0x0F);
            var select = Vector256.Create((byte)0xCC);
            var t = Avx.LoadVector256(top).AsUInt16();
            var m = Avx.LoadVector256(middle).AsUInt16();
            var h01 = Vector256.ConditionalSelect(select, t.AsByte(), m.AsByte()).AsUInt16();
            var h23 = Vector256.ConditionalSelect(select, Vector256.ShiftLeft(t, 2).AsByte(), Vector256.ShiftRightLogical(m, 2).AsByte()).AsUInt16();
            return Avx2.MultiplyAddAdjacent(h01.AsByte() & f, a0) + Avx2.MultiplyAddAdjacent(Vector256.ShiftRightLogical(h01, 4).AsByte() & f, a1)
                + Avx2.MultiplyAddAdjacent(h23.AsByte() & f, a2) + Avx2.MultiplyAddAdjacent(Vector256.ShiftRightLogical(h23, 4).AsByte() & f, a3);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Chunk512(byte* top, byte* middle, byte* low, sbyte* a) => Avx512BW.MultiplyAddAdjacent(
            High512(top, middle, Avx512BW.LoadVector512(a), Avx512BW.LoadVector512(a + 64), Avx512BW.LoadVector512(a + 128), Avx512BW.LoadVector512(a + 192)),
            Vector512.Create((short)1));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Chunk256(byte* top, byte* middle, byte* low0, byte* low1, sbyte* a, int aStride) => Avx2.MultiplyAddAdjacent(
            High256(top, middle, Avx.LoadVector256(a), Avx.LoadVector256(a + aStride), Avx.LoadVector256(a + (2 * aStride)), Avx.LoadVector256(a + (3 * aStride))),
            Vector256.Create((short)1));

        // 16·dot − 120·Σa = 16·dot − 128·Σa + 8·Σa
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Combine(Vector512<int> dots, Vector512<int> sums) =>
            Vector512.ShiftLeft(dots, 4) - Vector512.ShiftLeft(sums, 7) + Vector512.ShiftLeft(sums, 3);

        public static int Combine(int dot, int sum) => (16 * dot) - (120 * sum);
    }

    private readonly struct Bits2 : IPlaneWidth
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Chunk512(byte* top, byte* middle, byte* low, sbyte* a)
        {
            var three = Vector512.Create((byte)3);
            var t = Avx512BW.LoadVector512(top).AsUInt16();
            // Quarters 0, 1, 2, 3 hold their top bits at shifts 2, 6, 0, 4.
            var d = Avx512BW.MultiplyAddAdjacent(Vector512.ShiftRightLogical(t, 2).AsByte() & three, Avx512BW.LoadVector512(a))
                + Avx512BW.MultiplyAddAdjacent(Vector512.ShiftRightLogical(t, 6).AsByte() & three, Avx512BW.LoadVector512(a + 64))
                + Avx512BW.MultiplyAddAdjacent(t.AsByte() & three, Avx512BW.LoadVector512(a + 128))
                + Avx512BW.MultiplyAddAdjacent(Vector512.ShiftRightLogical(t, 4).AsByte() & three, Avx512BW.LoadVector512(a + 192));
            return Avx512BW.MultiplyAddAdjacent(d, Vector512.Create((short)1));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Chunk256(byte* top, byte* middle, byte* low0, byte* low1, sbyte* a, int aStride)
        {
            var three = Vector256.Create((byte)3);
            var t = Avx.LoadVector256(top).AsUInt16();
            var d = Avx2.MultiplyAddAdjacent(Vector256.ShiftRightLogical(t, 2).AsByte() & three, Avx.LoadVector256(a))
                + Avx2.MultiplyAddAdjacent(Vector256.ShiftRightLogical(t, 6).AsByte() & three, Avx.LoadVector256(a + aStride))
                + Avx2.MultiplyAddAdjacent(t.AsByte() & three, Avx.LoadVector256(a + (2 * aStride)))
                + Avx2.MultiplyAddAdjacent(Vector256.ShiftRightLogical(t, 4).AsByte() & three, Avx.LoadVector256(a + (3 * aStride)));
            return Avx2.MultiplyAddAdjacent(d, Vector256.Create((short)1));
        }

        // 64·dot − 96·Σa = 64·dot − 128·Σa + 32·Σa
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Combine(Vector512<int> dots, Vector512<int> sums) =>
            Vector512.ShiftLeft(dots, 6) - Vector512.ShiftLeft(sums, 7) + Vector512.ShiftLeft(sums, 5);

        public static int Combine(int dot, int sum) => (64 * dot) - (96 * sum);
    }
}
