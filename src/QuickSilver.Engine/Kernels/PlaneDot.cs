using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// One bit-plane weight row (<see cref="BitPlaneMatrix"/>) · one 8-bit activation row (<see cref="PlaneActivations"/>),
/// reading only the planes of the requested width. Per block, with unsigned plane codes and activation codes a:
/// 8 bits <c>16·Σhi·a + Σlo·a − 128·Σa</c>, 4 bits <c>16·Σhi·a − 120·Σa</c>, 2 bits <c>64·Σtop·a − 96·Σa</c>
/// (hi the high nibble, lo the low nibble, top = hi ≫ 2), times the two block scales. The integer part is exact on
/// every path.
/// </summary>
/// <remarks>
/// The AVX-512 path takes 16 blocks per step, as the Q8_0 decode kernel does. Per chunk of 8 blocks it loads 64 bytes
/// per 128 weights of each plane it reads, splits them into nibble (or 2-bit) vectors with one shift and masks, multiplies
/// them with maddubs (their int16 sums stay below 4·2·15·127) and widens with one madd whose multiplier is the width's
/// weight (16 for hi, 1 for lo, 64 for top) to two int32 lanes per block; two chunks are reduced to one lane per block,
/// the offset term comes off, the 16 half scales are widened at once and one FMA adds the step.
/// <para>The kernels are compiled fully optimized on first use ([AggressiveOptimization]): each width is a generic
/// instantiation met first when a token is read at that width, and tier-0 code there costs a token several times over.</para>
/// </remarks>
internal static unsafe class PlaneDot
{
    /// <summary>The row dot at <paramref name="bits"/> on path <paramref name="isa"/>; <paramref name="nsb"/> super-blocks.</summary>
    /// <param name="top">The row's top plane (read at 2 bits only; may be null otherwise).</param>
    /// <param name="sa">The row's block scales, zero-padded to whole steps of 16 blocks.</param>
    /// <param name="offsets">The row's offset terms at this width (<see cref="PlaneActivations.Offsets(int)"/>), padded like <paramref name="sa"/>.</param>
    /// <param name="finite">Whether every weight scale is finite.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(KernelIsa isa, int bits, byte* top, byte* high, byte* low, ushort* ws, sbyte* a, float* sa, int* offsets, int nsb, bool finite) => isa switch
    {
        KernelIsa.Avx512 => bits switch
        {
            8 => Avx512<Bits8>(top, high, low, ws, a, sa, offsets, nsb, finite),
            4 => Avx512<Bits4>(top, high, low, ws, a, sa, offsets, nsb, finite),
            _ => Avx512<Bits2>(top, high, low, ws, a, sa, offsets, nsb, finite),
        },
        KernelIsa.Avx2 => bits switch
        {
            8 => Avx2Dot<Bits8>(top, high, low, ws, a, sa, offsets, nsb),
            4 => Avx2Dot<Bits4>(top, high, low, ws, a, sa, offsets, nsb),
            _ => Avx2Dot<Bits2>(top, high, low, ws, a, sa, offsets, nsb),
        },
        _ => Scalar(bits, top, high, low, ws, a, sa, nsb),
    };

    /// <summary>The portable definition every SIMD path is tested against (the plane layout read weight by weight).</summary>
    public static float Scalar(int bits, byte* top, byte* high, byte* low, ushort* ws, sbyte* a, float* sa, int nsb)
    {
        float* half = Table;
        float sum = 0;
        for (int b = 0; b < 4 * nsb; b++)
        {
            int dot = 0, asum = 0;
            for (int e = 0; e < 32; e++)
            {
                int column = (32 * b) + e;
                var (nibble, shift, topByte, topShift) = BitPlaneMatrix.Locate(column, nsb);
                int chunk = column / 256, c = Math.Min(2, nsb - (2 * chunk));
                int av = a[(256 * chunk) + (32 * c * (e / 8)) + (topByte - (64 * chunk))]; // plane order: quarter e/8, then byte p
                asum += av;
                if (bits == 2) { dot += 64 * ((top[topByte] >> topShift) & 3) * av; continue; }
                int hi = (high[nibble] >> shift) & 0x0F;
                if (bits == 4) { dot += 16 * hi * av; continue; }
                dot += ((16 * hi) + ((low[nibble] >> shift) & 0x0F)) * av;
            }
            dot -= (bits == 8 ? 128 : bits == 4 ? 120 : 96) * asum;
            sum += half[ws[b]] * sa[b] * dot;
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Avx512<TWidth>(byte* top, byte* high, byte* low, ushort* ws, sbyte* a, float* sa, int* offsets, int nsb, bool finite) where TWidth : struct, IPlaneWidth
    {
        var acc = Vector512<float>.Zero;
        int s = 0;
        for (; s + 4 <= nsb; s += 4)
        {
            // Two full chunks: blocks 4s..4s+15.
            var v0 = Chunk512<TWidth>(top + (32 * s), high + (64 * s), low + (64 * s), a + (128 * s));
            var v1 = Chunk512<TWidth>(top + (32 * s) + 64, high + (64 * s) + 128, low + (64 * s) + 128, a + (128 * s) + 256);
            var halves = Avx.LoadVector256(ws + (4 * s));
            acc = Accumulate(Pair(v0, v1), finite ? HalfToSingleFinite(halves) : DecodeMatVec.HalfToSingle(halves), sa + (4 * s), offsets + (4 * s), acc);
        }
        if (s < nsb)
        {
            var tail = new TailCodes(a + (128 * s), nsb - s);
            acc = tail.Row<TWidth>(top + (32 * s), high + (64 * s), low + (64 * s), ws + (4 * s), sa + (4 * s), offsets + (4 * s), finite, acc);
        }
        return DecodeMatVec.Sum16(acc);
    }

    /// <summary>A full chunk's dots with the chunk's activation codes loaded here.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Chunk512<TWidth>(byte* top, byte* high, byte* low, sbyte* a) where TWidth : struct, IPlaneWidth =>
        TWidth.Chunk512(top, high, low, Avx512BW.LoadVector512(a), Avx512BW.LoadVector512(a + 64), Avx512BW.LoadVector512(a + 128), Avx512BW.LoadVector512(a + 192));

    /// <summary>
    /// Four consecutive weight rows (plane rows <paramref name="quarterBytes"/>/<paramref name="halfBytes"/> apart, scale rows
    /// <paramref name="scaleStride"/> apart) · one activation row at <paramref name="bits"/> on the AVX-512 path: each row's
    /// result is bit-identical to <see cref="Dot"/> on that row alone (same integers, same FMA chain, same reduction
    /// tree), but the activation codes, scales and offsets are loaded once for the four rows and one reduction serves them.
    /// </summary>
    /// <remarks>At 4 bits a row reads half the bytes of an 8-bit one while the activation loads and the per-row reduction
    /// stay the same, so they are a larger share of the work: sharing them is what lets the narrow pass keep up with memory.</remarks>
    public static Vector128<float> Dot4(int bits, byte* top, byte* high, byte* low, ushort* ws, int quarterBytes, int halfBytes, int scaleStride,
        sbyte* a, float* sa, int* offsets, int nsb, bool finite) => bits switch
    {
        8 => Avx512Rows4<Bits8>(top, high, low, ws, quarterBytes, halfBytes, scaleStride, a, sa, offsets, nsb, finite),
        4 => Avx512Rows4<Bits4>(top, high, low, ws, quarterBytes, halfBytes, scaleStride, a, sa, offsets, nsb, finite),
        _ => Avx512Rows4<Bits2>(top, high, low, ws, quarterBytes, halfBytes, scaleStride, a, sa, offsets, nsb, finite),
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector128<float> Avx512Rows4<TWidth>(byte* top, byte* high, byte* low, ushort* ws, int quarterBytes, int halfBytes, int scaleStride,
        sbyte* a, float* sa, int* offsets, int nsb, bool finite) where TWidth : struct, IPlaneWidth
    {
        var (c0, c1, c2, c3) = (Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero);
        int s = 0;
        for (; s + 4 <= nsb; s += 4)
        {
            sbyte* ab = a + (128 * s);
            var (a0, a1, a2, a3) = (Avx512BW.LoadVector512(ab), Avx512BW.LoadVector512(ab + 64), Avx512BW.LoadVector512(ab + 128), Avx512BW.LoadVector512(ab + 192));
            var (a4, a5, a6, a7) = (Avx512BW.LoadVector512(ab + 256), Avx512BW.LoadVector512(ab + 320), Avx512BW.LoadVector512(ab + 384), Avx512BW.LoadVector512(ab + 448));
            var off = Avx512F.LoadVector512(offsets + (4 * s));
            var scales = Avx512F.LoadVector512(sa + (4 * s));
            c0 = Row<TWidth>(top + (32 * s), high + (64 * s), low + (64 * s), ws + (4 * s), a0, a1, a2, a3, a4, a5, a6, a7, off, scales, finite, c0);
            c1 = Row<TWidth>(top + quarterBytes + (32 * s), high + halfBytes + (64 * s), low + halfBytes + (64 * s), ws + scaleStride + (4 * s), a0, a1, a2, a3, a4, a5, a6, a7, off, scales, finite, c1);
            c2 = Row<TWidth>(top + (2 * quarterBytes) + (32 * s), high + (2 * halfBytes) + (64 * s), low + (2 * halfBytes) + (64 * s), ws + (2 * scaleStride) + (4 * s), a0, a1, a2, a3, a4, a5, a6, a7, off, scales, finite, c2);
            c3 = Row<TWidth>(top + (3 * quarterBytes) + (32 * s), high + (3 * halfBytes) + (64 * s), low + (3 * halfBytes) + (64 * s), ws + (3 * scaleStride) + (4 * s), a0, a1, a2, a3, a4, a5, a6, a7, off, scales, finite, c3);
        }
        if (s < nsb)
        {
            // The last 1..3 super-blocks: their activation codes loaded once for the four rows.
            var tail = new TailCodes(a + (128 * s), nsb - s);
            c0 = tail.Row<TWidth>(top + (32 * s), high + (64 * s), low + (64 * s), ws + (4 * s), sa + (4 * s), offsets + (4 * s), finite, c0);
            c1 = tail.Row<TWidth>(top + quarterBytes + (32 * s), high + halfBytes + (64 * s), low + halfBytes + (64 * s), ws + scaleStride + (4 * s), sa + (4 * s), offsets + (4 * s), finite, c1);
            c2 = tail.Row<TWidth>(top + (2 * quarterBytes) + (32 * s), high + (2 * halfBytes) + (64 * s), low + (2 * halfBytes) + (64 * s), ws + (2 * scaleStride) + (4 * s), sa + (4 * s), offsets + (4 * s), finite, c2);
            c3 = tail.Row<TWidth>(top + (3 * quarterBytes) + (32 * s), high + (3 * halfBytes) + (64 * s), low + (3 * halfBytes) + (64 * s), ws + (3 * scaleStride) + (4 * s), sa + (4 * s), offsets + (4 * s), finite, c3);
        }
        return DecodeMatVec.Sum4(c0, c1, c2, c3);
    }

    /// <summary>
    /// Eight consecutive weight rows read at 4 or 2 bits (<paramref name="bits"/>), as <see cref="Dot4"/> (each row
    /// bit-identical to <see cref="Dot"/> alone), their results stored at <paramref name="y"/>: the activation loads of a
    /// step are shared by twice the rows, which a narrow row, with half (a quarter) of the weight work of an 8-bit one,
    /// feels most. 8-bit rows stay at four per call: with two nibble planes per row, eight rows run out of registers
    /// (measured 20–35 % slower in cache). Rows of whole 16-block steps only (<paramref name="nsb"/> a multiple of 4): with a
    /// tail the kernel spills too, so such rows take <see cref="Dot4"/>.
    /// </summary>
    public static void Dot8(int bits, byte* top, byte* high, byte* low, ushort* ws, int quarterBytes, int halfBytes, int scaleStride,
        sbyte* a, float* sa, int* offsets, int nsb, bool finite, float* y)
    {
        if (bits == 4) Avx512Rows8<Bits4>(top, high, low, ws, quarterBytes, halfBytes, scaleStride, a, sa, offsets, nsb, finite, y);
        else Avx512Rows8<Bits2>(top, high, low, ws, quarterBytes, halfBytes, scaleStride, a, sa, offsets, nsb, finite, y);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Avx512Rows8<TWidth>(byte* top, byte* high, byte* low, ushort* ws, int quarterBytes, int halfBytes, int scaleStride,
        sbyte* a, float* sa, int* offsets, int nsb, bool finite, float* y) where TWidth : struct, IPlaneWidth
    {
        var (c0, c1, c2, c3) = (Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero);
        var (c4, c5, c6, c7) = (Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero);
        // Row r's top, high, low planes and scales at step s.
        [MethodImpl(MethodImplOptions.AggressiveInlining)] byte* T(int r, int s) => top + (r * quarterBytes) + (32 * s);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] byte* H(int r, int s) => high + (r * halfBytes) + (64 * s);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] byte* L(int r, int s) => low + (r * halfBytes) + (64 * s);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] ushort* W(int r, int s) => ws + (r * scaleStride) + (4 * s);
        for (int s = 0; s < nsb; s += 4)
        {
            sbyte* ab = a + (128 * s);
            var (a0, a1, a2, a3) = (Avx512BW.LoadVector512(ab), Avx512BW.LoadVector512(ab + 64), Avx512BW.LoadVector512(ab + 128), Avx512BW.LoadVector512(ab + 192));
            var (a4, a5, a6, a7) = (Avx512BW.LoadVector512(ab + 256), Avx512BW.LoadVector512(ab + 320), Avx512BW.LoadVector512(ab + 384), Avx512BW.LoadVector512(ab + 448));
            var off = Avx512F.LoadVector512(offsets + (4 * s));
            var scales = Avx512F.LoadVector512(sa + (4 * s));
            c0 = Row<TWidth>(T(0, s), H(0, s), L(0, s), W(0, s), a0, a1, a2, a3, a4, a5, a6, a7, off, scales, finite, c0);
            c1 = Row<TWidth>(T(1, s), H(1, s), L(1, s), W(1, s), a0, a1, a2, a3, a4, a5, a6, a7, off, scales, finite, c1);
            c2 = Row<TWidth>(T(2, s), H(2, s), L(2, s), W(2, s), a0, a1, a2, a3, a4, a5, a6, a7, off, scales, finite, c2);
            c3 = Row<TWidth>(T(3, s), H(3, s), L(3, s), W(3, s), a0, a1, a2, a3, a4, a5, a6, a7, off, scales, finite, c3);
            c4 = Row<TWidth>(T(4, s), H(4, s), L(4, s), W(4, s), a0, a1, a2, a3, a4, a5, a6, a7, off, scales, finite, c4);
            c5 = Row<TWidth>(T(5, s), H(5, s), L(5, s), W(5, s), a0, a1, a2, a3, a4, a5, a6, a7, off, scales, finite, c5);
            c6 = Row<TWidth>(T(6, s), H(6, s), L(6, s), W(6, s), a0, a1, a2, a3, a4, a5, a6, a7, off, scales, finite, c6);
            c7 = Row<TWidth>(T(7, s), H(7, s), L(7, s), W(7, s), a0, a1, a2, a3, a4, a5, a6, a7, off, scales, finite, c7);
        }
        DecodeMatVec.Sum4(c0, c1, c2, c3).Store(y);
        DecodeMatVec.Sum4(c4, c5, c6, c7).Store(y + 4);
    }

    /// <summary>One row's step of 16 blocks against preloaded activations: the same operations as a step of <see cref="Avx512{TWidth}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Row<TWidth>(byte* top, byte* high, byte* low, ushort* ws,
        Vector512<sbyte> a0, Vector512<sbyte> a1, Vector512<sbyte> a2, Vector512<sbyte> a3, Vector512<sbyte> a4, Vector512<sbyte> a5, Vector512<sbyte> a6, Vector512<sbyte> a7,
        Vector512<int> offsets, Vector512<float> sa, bool finite, Vector512<float> acc) where TWidth : struct, IPlaneWidth
    {
        var dots = Pair(TWidth.Chunk512(top, high, low, a0, a1, a2, a3), TWidth.Chunk512(top + 64, high + 128, low + 128, a4, a5, a6, a7));
        var halves = Avx.LoadVector256(ws);
        var weightScales = finite ? HalfToSingleFinite(halves) : DecodeMatVec.HalfToSingle(halves);
        return Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(dots - offsets), weightScales * sa, acc);
    }

    /// <summary>
    /// The activation codes of a row's last 1..3 super-blocks (a full chunk and/or a one-super-block chunk), loaded once
    /// and used for every weight row of a call; absent lanes and scales are zero.
    /// </summary>
    private readonly ref struct TailCodes
    {
        private readonly Vector512<sbyte> _x0, _x1, _x2, _x3; // the full chunk's four quarters (count ≥ 2)
        private readonly Vector256<sbyte> _y0, _y1, _y2, _y3; // the one-super-block chunk's (count 1 or 3)
        private readonly Vector256<ushort> _scaleMask;
        private readonly bool _full, _half;

        public TailCodes(sbyte* a, int count)
        {
            (_full, _half) = (count >= 2, count != 2);
            if (_full) (_x0, _x1, _x2, _x3) = (Avx512BW.LoadVector512(a), Avx512BW.LoadVector512(a + 64), Avx512BW.LoadVector512(a + 128), Avx512BW.LoadVector512(a + 192));
            sbyte* y = a + (_full ? 256 : 0);
            if (_half) (_y0, _y1, _y2, _y3) = (Avx.LoadVector256(y), Avx.LoadVector256(y + 32), Avx.LoadVector256(y + 64), Avx.LoadVector256(y + 96));
            _scaleMask = Vector256.LessThan(Vector256.Create((ushort)0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), Vector256.Create((ushort)(4 * count)));
        }

        /// <summary>One weight row's tail added to <paramref name="acc"/>: the same operations whichever call it is in.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Row<TWidth>(byte* top, byte* high, byte* low, ushort* ws, float* sa, int* offsets, bool finite, Vector512<float> acc) where TWidth : struct, IPlaneWidth
        {
            Vector512<int> v0, v1 = Vector512<int>.Zero;
            if (_full)
            {
                v0 = TWidth.Chunk512(top, high, low, _x0, _x1, _x2, _x3);
                if (_half) v1 = TWidth.Chunk256(top + 64, high + 128, high + 160, low + 128, low + 160, _y0, _y1, _y2, _y3).ToVector512();
            }
            else v0 = TWidth.Chunk256(top, high, high + 32, low, low + 32, _y0, _y1, _y2, _y3).ToVector512();
            // A masked load: the scales past the row's last block are neither read nor added (they may be past the array).
            var halves = Avx512BW.VL.MaskLoad(ws, _scaleMask, Vector256<ushort>.Zero);
            return Accumulate(Pair(v0, v1), finite ? HalfToSingleFinite(halves) : DecodeMatVec.HalfToSingle(halves), sa, offsets, acc);
        }
    }

    /// <summary>acc + float(dots − offsets) · weight scales · sa for 16 blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Accumulate(Vector512<int> dots, Vector512<float> weightScales, float* sa, int* offsets, Vector512<float> acc) =>
        Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(dots - Avx512F.LoadVector512(offsets)), weightScales * Avx512F.LoadVector512(sa), acc);

    /// <summary>
    /// Finite half bits → float32, exactly (normals, subnormals, zeros): <see cref="DecodeMatVec.HalfToSingle"/> without
    /// the infinity/NaN case, for matrices whose scales were all checked finite at load.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> HalfToSingleFinite(Vector256<ushort> halves)
    {
        // Sign-extended, then shifted so that exponent and mantissa sit under float32's and a copy of the sign bit under
        // float32's sign (bits 29–31 are all the sign); the mask clears bits 28–30. Rebiasing by a multiply is exact, keeps
        // the sign and turns subnormals into normals: four instructions.
        var h = Avx512F.ConvertToVector512Int32(halves.AsInt16());
        return (Vector512.ShiftLeft(h, 13) & Vector512.Create(unchecked((int)0x8FFFE000))).AsSingle() * Vector512.Create(0x77800000).AsSingle(); // × 2^112
    }

    /// <summary>Two chunks of 8 blocks × 2 lanes → one lane per block, block order kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Pair(Vector512<int> x, Vector512<int> y)
    {
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odd = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        return Avx512F.PermuteVar16x32x2(x, even, y) + Avx512F.PermuteVar16x32x2(x, odd, y);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Avx2Dot<TWidth>(byte* top, byte* high, byte* low, ushort* ws, sbyte* a, float* sa, int* offsets, int nsb) where TWidth : struct, IPlaneWidth
    {
        float* half = Table;
        int* lanes = stackalloc int[8];
        float sum = 0;
        for (int s = 0; s < nsb; s++)
        {
            // Super-block s is half h of chunk s/2 (c super-blocks): its bytes start 32h into each part of the chunk.
            int chunk = s / 2, h = s % 2, c = Math.Min(2, nsb - (2 * chunk));
            byte* high0 = high + (128 * chunk) + (32 * h), low0 = low + (128 * chunk) + (32 * h);
            sbyte* codes = a + (256 * chunk) + (32 * h);
            int stride = 32 * c;
            TWidth.Chunk256(top + (32 * s), high0, high0 + stride, low0, low0 + stride,
                Avx.LoadVector256(codes), Avx.LoadVector256(codes + stride), Avx.LoadVector256(codes + (2 * stride)), Avx.LoadVector256(codes + (3 * stride))).Store(lanes);
            for (int k = 0; k < 4; k++)
            {
                int b = (4 * s) + k;
                sum += half[ws[b]] * sa[b] * (lanes[2 * k] + lanes[(2 * k) + 1] - offsets[b]);
            }
        }
        return sum;
    }

    private static float* Table => (float*)Unsafe.AsPointer(ref HalfTable.Values[0]);

    /// <summary>The planes one width reads: lanes 2b, 2b+1 of a chunk's dots sum to block b's integer dot, weighted (16·hi + lo, 16·hi, 64·top).</summary>
    private interface IPlaneWidth
    {
        /// <summary>A full chunk (8 blocks): 64 bytes of the top plane, 2·64 of each nibble plane, against its four 64-code quarters.</summary>
        static abstract Vector512<int> Chunk512(byte* top, byte* high, byte* low, Vector512<sbyte> a0, Vector512<sbyte> a1, Vector512<sbyte> a2, Vector512<sbyte> a3);

        /// <summary>One super-block (4 blocks): 32 bytes of the top plane, nibble parts at high0/high1 and low0/low1, against its four 32-code quarters.</summary>
        static abstract Vector256<int> Chunk256(byte* top, byte* high0, byte* high1, byte* low0, byte* low1, Vector256<sbyte> a0, Vector256<sbyte> a1, Vector256<sbyte> a2, Vector256<sbyte> a3);
    }

    /// <summary>Σ nibble·a over the four quarters of a chunk as int16 pair sums (each below 4·2·15·127).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Nibbles512(byte* plane, Vector512<sbyte> a0, Vector512<sbyte> a1, Vector512<sbyte> a2, Vector512<sbyte> a3)
    {
        var f = Vector512.Create((byte)0x0F);
        var p0 = Avx512BW.LoadVector512(plane).AsUInt16();
        var p1 = Avx512BW.LoadVector512(plane + 64).AsUInt16();
        return Avx512BW.MultiplyAddAdjacent(p0.AsByte() & f, a0) + Avx512BW.MultiplyAddAdjacent(Vector512.ShiftRightLogical(p0, 4).AsByte() & f, a1)
            + Avx512BW.MultiplyAddAdjacent(p1.AsByte() & f, a2) + Avx512BW.MultiplyAddAdjacent(Vector512.ShiftRightLogical(p1, 4).AsByte() & f, a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Nibbles256(byte* part0, byte* part1, Vector256<sbyte> a0, Vector256<sbyte> a1, Vector256<sbyte> a2, Vector256<sbyte> a3)
    {
        var f = Vector256.Create((byte)0x0F);
        var p0 = Avx.LoadVector256(part0).AsUInt16();
        var p1 = Avx.LoadVector256(part1).AsUInt16();
        return Avx2.MultiplyAddAdjacent(p0.AsByte() & f, a0) + Avx2.MultiplyAddAdjacent(Vector256.ShiftRightLogical(p0, 4).AsByte() & f, a1)
            + Avx2.MultiplyAddAdjacent(p1.AsByte() & f, a2) + Avx2.MultiplyAddAdjacent(Vector256.ShiftRightLogical(p1, 4).AsByte() & f, a3);
    }

    private readonly struct Bits8 : IPlaneWidth
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Chunk512(byte* top, byte* high, byte* low, Vector512<sbyte> a0, Vector512<sbyte> a1, Vector512<sbyte> a2, Vector512<sbyte> a3)
        {
            return Avx512BW.MultiplyAddAdjacent(Nibbles512(high, a0, a1, a2, a3), Vector512.Create((short)16))
                + Avx512BW.MultiplyAddAdjacent(Nibbles512(low, a0, a1, a2, a3), Vector512.Create((short)1));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Chunk256(byte* top, byte* high0, byte* high1, byte* low0, byte* low1, Vector256<sbyte> a0, Vector256<sbyte> a1, Vector256<sbyte> a2, Vector256<sbyte> a3)
        {
            return Avx2.MultiplyAddAdjacent(Nibbles256(high0, high1, a0, a1, a2, a3), Vector256.Create((short)16))
                + Avx2.MultiplyAddAdjacent(Nibbles256(low0, low1, a0, a1, a2, a3), Vector256.Create((short)1));
        }
    }

    private readonly struct Bits4 : IPlaneWidth
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Chunk512(byte* top, byte* high, byte* low, Vector512<sbyte> a0, Vector512<sbyte> a1, Vector512<sbyte> a2, Vector512<sbyte> a3) =>
            Avx512BW.MultiplyAddAdjacent(Nibbles512(high, a0, a1, a2, a3), Vector512.Create((short)16));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Chunk256(byte* top, byte* high0, byte* high1, byte* low0, byte* low1, Vector256<sbyte> a0, Vector256<sbyte> a1, Vector256<sbyte> a2, Vector256<sbyte> a3) =>
            Avx2.MultiplyAddAdjacent(Nibbles256(high0, high1, a0, a1, a2, a3), Vector256.Create((short)16));
    }

    private readonly struct Bits2 : IPlaneWidth
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Chunk512(byte* top, byte* high, byte* low, Vector512<sbyte> a0, Vector512<sbyte> a1, Vector512<sbyte> a2, Vector512<sbyte> a3)
        {
            var three = Vector512.Create((byte)3);
            var t = Avx512BW.LoadVector512(top).AsUInt16();
            var d = Avx512BW.MultiplyAddAdjacent(t.AsByte() & three, a0)
                + Avx512BW.MultiplyAddAdjacent(Vector512.ShiftRightLogical(t, 2).AsByte() & three, a1)
                + Avx512BW.MultiplyAddAdjacent(Vector512.ShiftRightLogical(t, 4).AsByte() & three, a2)
                + Avx512BW.MultiplyAddAdjacent(Vector512.ShiftRightLogical(t, 6).AsByte() & three, a3);
            return Avx512BW.MultiplyAddAdjacent(d, Vector512.Create((short)64));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Chunk256(byte* top, byte* high0, byte* high1, byte* low0, byte* low1, Vector256<sbyte> a0, Vector256<sbyte> a1, Vector256<sbyte> a2, Vector256<sbyte> a3)
        {
            var three = Vector256.Create((byte)3);
            var t = Avx.LoadVector256(top).AsUInt16();
            var d = Avx2.MultiplyAddAdjacent(t.AsByte() & three, a0)
                + Avx2.MultiplyAddAdjacent(Vector256.ShiftRightLogical(t, 2).AsByte() & three, a1)
                + Avx2.MultiplyAddAdjacent(Vector256.ShiftRightLogical(t, 4).AsByte() & three, a2)
                + Avx2.MultiplyAddAdjacent(Vector256.ShiftRightLogical(t, 6).AsByte() & three, a3);
            return Avx2.MultiplyAddAdjacent(d, Vector256.Create((short)64));
        }
    }
}
