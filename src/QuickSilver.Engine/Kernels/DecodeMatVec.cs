using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// The AVX-512 matrix-vector kernel of Q8_0 and Q4_0 weights against a few 8-bit activation rows (decode, verify,
/// batched decode), built to stream the weights at memory speed. Per weight row and activation row it takes 16 blocks
/// per step: the integer dots of the 16 blocks (VNNI vpdpbusd, or maddubs/madd without VNNI) are reduced in registers to
/// one int32 lane per block, the 16 half-precision weight scales are widened exactly at once and multiplied by the 16
/// padded activation scales (<see cref="Q8Activations.PaddedScales"/>), and one FMA adds the step to 16 float lanes.
/// Weight rows are the outer loop and activation rows the inner one, so a row is read from memory once for all of them;
/// each (weight row, activation row) result is computed by the same instructions in the same order whatever the number
/// of activation rows or the row's place among them, so it is bit-identical to a call with that row alone.
/// </summary>
internal static unsafe partial class DecodeMatVec
{
    /// <summary>Whether the kernel runs here (AVX-512 F/BW).</summary>
    public static bool IsSupported => Avx512BW.IsSupported;

    /// <summary>Whether the block dots use vpdpbusd (AVX-VNNI) rather than maddubs/madd; both give the same integers.</summary>
    internal static bool UseVnni { get; set; } = AvxVnni.IsSupported;

    /// <summary>Whether <paramref name="type"/> has this kernel.</summary>
    public static bool Handles(GgufTensorType type) => type is GgufTensorType.Q8_0 or GgufTensorType.Q4_0;

    /// <summary>
    /// Y[t, r] for weight rows [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) of <paramref name="weights"/> and
    /// every activation row t; <paramref name="output"/> points at column 0 of activation row 0, rows
    /// <paramref name="outputStride"/> apart.
    /// </summary>
    public static void Run(QuantizedMatrix weights, Q8Activations activations, float* output, int outputStride, int rowStart, int rowEnd)
    {
        int nb = weights.BlocksPerRow, rowBytes = weights.RowCodeBytes, n = activations.Rows, columns = activations.Columns;
        int padded = activations.PaddedBlocks, q4Bytes = activations.Q4RowBytes;
        bool q8 = weights.Type == GgufTensorType.Q8_0, vnni = UseVnni, finite = weights.FiniteScales;
        fixed (byte* w0 = weights.Codes)
        fixed (ushort* ws0 = weights.Scales)
        fixed (sbyte* codes = activations.Codes)
        fixed (sbyte* q4Order = activations.Q4Order)
        fixed (float* sa = activations.PaddedScales)
        fixed (int* sums = activations.BlockSums)
        {
            var rows = new RowRange(w0 + ((long)weights.FirstRow * rowBytes), ws0 + ((long)weights.FirstRow * nb), rowBytes, nb, q8 ? codes : q4Order,
                q8 ? columns : q4Bytes, sa, sums, padded, n, output, outputStride);
            // The finite-scale widening gives the exact bits of HalfToSingle for every finite half, so the choice changes no result.
            if (vnni && finite) rows.Run<Vnni, FiniteHalves>(q8, rowStart, rowEnd);
            else if (vnni) rows.Run<Vnni, ExactHalves>(q8, rowStart, rowEnd);
            else if (finite) rows.Run<MaddUbs, FiniteHalves>(q8, rowStart, rowEnd);
            else rows.Run<MaddUbs, ExactHalves>(q8, rowStart, rowEnd);
        }
    }

    private readonly struct RowRange(byte* w, ushort* ws, int rowBytes, int nb, sbyte* a, int aStride, float* sa, int* sums, int padded, int n, float* output, int outputStride)
    {
        public void Run<TDot, THalves>(bool q8, int rowStart, int rowEnd) where TDot : struct, IBlockDot where THalves : struct, IHalfWidening
        {
            int r = rowStart;
            // Four weight rows per call: one call and one lane reduction for the four (the per-row cost is a large share of
            // a row of 32 blocks); each row's sum is the same tree as alone (Sum16), so grouping changes no bit.
            for (; r + 4 <= rowEnd; r += 4)
            {
                byte* wr = w + ((long)r * rowBytes);
                ushort* wsr = ws + ((long)r * nb);
                for (int t = 0; t < n; t++)
                {
                    var four = q8
                        ? Q8_0Rows4<TDot, THalves>(wr, wsr, rowBytes, nb, a + ((long)t * aStride), sa + (t * padded), sums + (t * padded))
                        : Q4_0Rows4<TDot, THalves>(wr, wsr, rowBytes, nb, a + ((long)t * aStride), sa + (t * padded), sums + (t * padded));
                    four.Store(output + ((long)t * outputStride) + r);
                }
            }
            for (; r < rowEnd; r++)
            {
                byte* wr = w + ((long)r * rowBytes);
                ushort* wsr = ws + ((long)r * nb);
                for (int t = 0; t < n; t++)
                {
                    output[((long)t * outputStride) + r] = q8
                        ? Q8_0<TDot, THalves>(wr, wsr, a + ((long)t * aStride), sa + (t * padded), sums + (t * padded), nb)
                        : Q4_0<TDot, THalves>(wr, wsr, a + ((long)t * aStride), sa + (t * padded), sums + (t * padded), nb);
                }
            }
        }
    }

    /// <summary>
    /// One Q8_0 row · one activation row. <paramref name="a"/>: nb·32 codes; <paramref name="sa"/>, <paramref name="sums"/>:
    /// the row's padded scales and block sums (at least nb rounded up to 16).
    /// </summary>
    public static float Q8_0<TDot>(byte* w, ushort* ws, sbyte* a, float* sa, int* sums, int nb) where TDot : struct, IBlockDot =>
        Q8_0<TDot, ExactHalves>(w, ws, a, sa, sums, nb);

    /// <summary>As <see cref="Q8_0{TDot}"/>, widening the weight scales by <typeparamref name="THalves"/>.</summary>
    public static float Q8_0<TDot, THalves>(byte* w, ushort* ws, sbyte* a, float* sa, int* sums, int nb) where TDot : struct, IBlockDot where THalves : struct, IHalfWidening
    {
        var acc = Q8_0Steps<TDot, THalves>(w, ws, a, sa, sums, nb);
        int b = nb & ~15;
        if (b < nb) acc = Q8_0Tail<TDot, THalves>(w, ws, a, sa, sums, nb, b, acc);
        return Sum16(acc);
    }

    /// <summary>Four consecutive Q8_0 rows (<paramref name="rowBytes"/> apart) · one activation row: their four results.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector128<float> Q8_0Rows4<TDot, THalves>(byte* w, ushort* ws, int rowBytes, int nb, sbyte* a, float* sa, int* sums)
        where TDot : struct, IBlockDot where THalves : struct, IHalfWidening
    {
        var c0 = Q8_0StepLoop<TDot, THalves>(w, ws, a, sa, sums, nb);
        var c1 = Q8_0StepLoop<TDot, THalves>(w + rowBytes, ws + nb, a, sa, sums, nb);
        var c2 = Q8_0StepLoop<TDot, THalves>(w + (2 * rowBytes), ws + (2 * nb), a, sa, sums, nb);
        var c3 = Q8_0StepLoop<TDot, THalves>(w + (3 * rowBytes), ws + (3 * nb), a, sa, sums, nb);
        int b = nb & ~15;
        if (b < nb)
        {
            c0 = Q8_0Tail<TDot, THalves>(w, ws, a, sa, sums, nb, b, c0);
            c1 = Q8_0Tail<TDot, THalves>(w + rowBytes, ws + nb, a, sa, sums, nb, b, c1);
            c2 = Q8_0Tail<TDot, THalves>(w + (2 * rowBytes), ws + (2 * nb), a, sa, sums, nb, b, c2);
            c3 = Q8_0Tail<TDot, THalves>(w + (3 * rowBytes), ws + (3 * nb), a, sa, sums, nb, b, c3);
        }
        return Sum4(c0, c1, c2, c3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Q8_0Tail<TDot, THalves>(byte* w, ushort* ws, sbyte* a, float* sa, int* sums, int nb, int b, Vector512<float> acc)
        where TDot : struct, IBlockDot where THalves : struct, IHalfWidening =>
        Accumulate<THalves>(Q8_0TailDots<TDot>(w + (b * 32), a + (b * 32), nb - b), TailScales(ws + b, nb - b), sa + b, sums + b, TDot.Q8Bias, acc);

    // The whole 16-block steps, in a method of their own: with the tail's calls in the same body the JIT kept the
    // accumulator in memory, a store and reload on every step's FMA chain.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector512<float> Q8_0Steps<TDot, THalves>(byte* w, ushort* ws, sbyte* a, float* sa, int* sums, int nb) where TDot : struct, IBlockDot where THalves : struct, IHalfWidening =>
        Q8_0StepLoop<TDot, THalves>(w, ws, a, sa, sums, nb);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Q8_0StepLoop<TDot, THalves>(byte* w, ushort* ws, sbyte* a, float* sa, int* sums, int nb) where TDot : struct, IBlockDot where THalves : struct, IHalfWidening
    {
        var acc = Vector512<float>.Zero;
        for (int b = 0; b + 16 <= nb; b += 16)
        {
            byte* wb = w + (b * 32);
            sbyte* ab = a + (b * 32);
            var dots = Reduce(
                TDot.Q8Pair(wb, ab), TDot.Q8Pair(wb + 64, ab + 64), TDot.Q8Pair(wb + 128, ab + 128), TDot.Q8Pair(wb + 192, ab + 192),
                TDot.Q8Pair(wb + 256, ab + 256), TDot.Q8Pair(wb + 320, ab + 320), TDot.Q8Pair(wb + 384, ab + 384), TDot.Q8Pair(wb + 448, ab + 448));
            acc = Accumulate<THalves>(dots, Avx.LoadVector256(ws + b), sa + b, sums + b, TDot.Q8Bias, acc);
        }
        return acc;
    }

    // The last 1..15 blocks: absent pairs are zero vectors (and absent scales zero, see TailScales), so the step has the same shape.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector512<int> Q8_0TailDots<TDot>(byte* w, sbyte* a, int count) where TDot : struct, IBlockDot
    {
        var v = stackalloc Vector512<int>[8];
        for (int p = 0; p < 8; p++) v[p] = Vector512<int>.Zero;
        int k = 0;
        for (; k + 2 <= count; k += 2) v[k / 2] = TDot.Q8Pair(w + (k * 32), a + (k * 32));
        if (k < count) v[k / 2] = TDot.Q8Single(w + (k * 32), a + (k * 32));
        return Reduce(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
    }

    /// <summary>The tail's <paramref name="count"/> (&lt; 16) weight scales, zeros after them.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector256<ushort> TailScales(ushort* ws, int count)
    {
        ushort* scales = stackalloc ushort[16];
        for (int i = 0; i < 16; i++) scales[i] = i < count ? ws[i] : (ushort)0;
        return Avx.LoadVector256(scales);
    }

    /// <summary>
    /// One Q4_0 row · one activation row in <see cref="Q8Activations.Q4Order"/>: each 64-byte load holds four blocks'
    /// nibbles, whose low halves meet the first 64 ordered codes and high halves the next 64.
    /// </summary>
    public static float Q4_0<TDot>(byte* w, ushort* ws, sbyte* a, float* sa, int* sums, int nb) where TDot : struct, IBlockDot =>
        Q4_0<TDot, ExactHalves>(w, ws, a, sa, sums, nb);

    /// <summary>As <see cref="Q4_0{TDot}"/>, widening the weight scales by <typeparamref name="THalves"/>.</summary>
    public static float Q4_0<TDot, THalves>(byte* w, ushort* ws, sbyte* a, float* sa, int* sums, int nb) where TDot : struct, IBlockDot where THalves : struct, IHalfWidening
    {
        var acc = Q4_0Steps<TDot, THalves>(w, ws, a, sa, sums, nb);
        int b = nb & ~15;
        if (b < nb) acc = Q4_0Tail<TDot, THalves>(w, ws, a, sa, sums, nb, b, acc);
        return Sum16(acc);
    }

    /// <summary>Four consecutive Q4_0 rows (<paramref name="rowBytes"/> apart) · one activation row: their four results.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector128<float> Q4_0Rows4<TDot, THalves>(byte* w, ushort* ws, int rowBytes, int nb, sbyte* a, float* sa, int* sums)
        where TDot : struct, IBlockDot where THalves : struct, IHalfWidening
    {
        var c0 = Q4_0StepLoop<TDot, THalves>(w, ws, a, sa, sums, nb);
        var c1 = Q4_0StepLoop<TDot, THalves>(w + rowBytes, ws + nb, a, sa, sums, nb);
        var c2 = Q4_0StepLoop<TDot, THalves>(w + (2 * rowBytes), ws + (2 * nb), a, sa, sums, nb);
        var c3 = Q4_0StepLoop<TDot, THalves>(w + (3 * rowBytes), ws + (3 * nb), a, sa, sums, nb);
        int b = nb & ~15;
        if (b < nb)
        {
            c0 = Q4_0Tail<TDot, THalves>(w, ws, a, sa, sums, nb, b, c0);
            c1 = Q4_0Tail<TDot, THalves>(w + rowBytes, ws + nb, a, sa, sums, nb, b, c1);
            c2 = Q4_0Tail<TDot, THalves>(w + (2 * rowBytes), ws + (2 * nb), a, sa, sums, nb, b, c2);
            c3 = Q4_0Tail<TDot, THalves>(w + (3 * rowBytes), ws + (3 * nb), a, sa, sums, nb, b, c3);
        }
        return Sum4(c0, c1, c2, c3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Q4_0Tail<TDot, THalves>(byte* w, ushort* ws, sbyte* a, float* sa, int* sums, int nb, int b, Vector512<float> acc)
        where TDot : struct, IBlockDot where THalves : struct, IHalfWidening =>
        Accumulate<THalves>(Q4_0TailDots<TDot>(w + (b * 16), a + (b * 32), nb - b), TailScales(ws + b, nb - b), sa + b, sums + b, 3, acc);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector512<float> Q4_0Steps<TDot, THalves>(byte* w, ushort* ws, sbyte* a, float* sa, int* sums, int nb) where TDot : struct, IBlockDot where THalves : struct, IHalfWidening =>
        Q4_0StepLoop<TDot, THalves>(w, ws, a, sa, sums, nb);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Q4_0StepLoop<TDot, THalves>(byte* w, ushort* ws, sbyte* a, float* sa, int* sums, int nb) where TDot : struct, IBlockDot where THalves : struct, IHalfWidening
    {
        var acc = Vector512<float>.Zero;
        for (int b = 0; b + 16 <= nb; b += 16)
        {
            byte* wb = w + (b * 16);
            sbyte* ab = a + (b * 32);
            var dots = Reduce(TDot.Q4Quad(wb, ab), TDot.Q4Quad(wb + 64, ab + 128), TDot.Q4Quad(wb + 128, ab + 256), TDot.Q4Quad(wb + 192, ab + 384));
            acc = Accumulate<THalves>(dots, Avx.LoadVector256(ws + b), sa + b, sums + b, 3, acc);
        }
        return acc;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector512<int> Q4_0TailDots<TDot>(byte* w, sbyte* a, int count) where TDot : struct, IBlockDot
    {
        var v = stackalloc Vector512<int>[4];
        for (int g = 0; g < 4; g++) v[g] = Vector512<int>.Zero;
        int k = 0;
        for (; k + 4 <= count; k += 4) v[k / 4] = TDot.Q4Quad(w + (k * 16), a + (k * 32));
        if (k < count)
        {
            // A partial group: its nibbles copied into zeros (the ordered codes are zero-padded already).
            byte* group = stackalloc byte[64];
            for (int i = 0; i < 64; i++) group[i] = i < (count - k) * 16 ? w[(k * 16) + i] : (byte)0;
            v[k / 4] = TDot.Q4Quad(group, a + (k * 32));
        }
        return Reduce(v[0], v[1], v[2], v[3]);
    }

    /// <summary>
    /// acc + float(dots − (Σa &lt;&lt; <paramref name="biasShift"/>)) · half(ws) · sa: the code offset (128 for biased Q8_0
    /// codes, 8 for Q4_0 nibbles) comes off as a per-block bias; a negative shift means no bias.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Accumulate<THalves>(Vector512<int> dots, Vector256<ushort> halves, float* sa, int* sums, int biasShift, Vector512<float> acc)
        where THalves : struct, IHalfWidening
    {
        if (biasShift >= 0) dots -= Vector512.ShiftLeft(Avx512F.LoadVector512(sums), biasShift);
        var scale = THalves.Widen(halves) * Avx512F.LoadVector512(sa);
        return Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(dots), scale, acc);
    }

    /// <summary>The integer block dots of one instruction family; both give identical int32 lanes.</summary>
    internal interface IBlockDot
    {
        /// <summary>−1 when <see cref="Q8Pair"/> returns true dots, else the shift of Σa that removes its code bias.</summary>
        static abstract int Q8Bias { get; }

        /// <summary>Two Q8_0 blocks: lanes 0..7 sum to block 0's dot (plus bias), 8..15 to block 1's.</summary>
        static abstract Vector512<int> Q8Pair(byte* w, sbyte* a);

        /// <summary>One Q8_0 block in lanes 0..7, zeros above (never reads past the block).</summary>
        static abstract Vector512<int> Q8Single(byte* w, sbyte* a);

        /// <summary>Four Q4_0 blocks' unsigned nibbles · ordered codes: lanes 4k..4k+3 sum to block k's Σ nibble·a.</summary>
        static abstract Vector512<int> Q4Quad(byte* w, sbyte* a);
    }

    /// <summary>vpdpbusd (u8 × s8, no saturation): Q8_0 codes are made unsigned by +128 (xor 0x80), removed as 128·Σa.</summary>
    internal readonly struct Vnni : IBlockDot
    {
        public static int Q8Bias => 7;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Q8Pair(byte* w, sbyte* a) => KQuantDot.Join(Q8Block(w, a).AsByte(), Q8Block(w + 32, a + 32).AsByte()).AsInt32();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Q8Single(byte* w, sbyte* a) => Q8Block(w, a).ToVector512();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<int> Q8Block(byte* w, sbyte* a) =>
            AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Avx.LoadVector256(w) ^ Vector256.Create((byte)0x80), Avx.LoadVector256(a));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Q4Quad(byte* w, sbyte* a) => KQuantDot.Join(Q4Pair(w, a, a + 64).AsByte(), Q4Pair(w + 32, a + 32, a + 96).AsByte()).AsInt32();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<int> Q4Pair(byte* w, sbyte* aLow, sbyte* aHigh)
        {
            var low = Vector256.Create((byte)0x0F);
            var packed = Avx.LoadVector256(w);
            var lo = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, packed & low, Avx.LoadVector256(aLow));
            return AvxVnni.MultiplyWideningAndAdd(lo, Avx2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & low, Avx.LoadVector256(aHigh));
        }
    }

    /// <summary>Avx512BW maddubs/madd: |w| × (a with w's sign) for Q8_0 (no bias), nibbles × a for Q4_0.</summary>
    internal readonly struct MaddUbs : IBlockDot
    {
        public static int Q8Bias => -1;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Q8Pair(byte* w, sbyte* a) => Q8(Avx512BW.LoadVector512((sbyte*)w), Avx512BW.LoadVector512(a));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Q8Single(byte* w, sbyte* a) =>
            Q8(Avx.LoadVector256((sbyte*)w).ToVector512(), Avx.LoadVector256(a).ToVector512()); // upper halves zero

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<int> Q8(Vector512<sbyte> wv, Vector512<sbyte> av)
        {
            // AVX-512 has no vpsignb: select a or −a by w's sign (codes are in [−127, 127], so −a never overflows).
            var signed = Vector512.ConditionalSelect(Vector512.LessThan(wv, Vector512<sbyte>.Zero), Vector512<sbyte>.Zero - av, av);
            return Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Avx512BW.Abs(wv), signed), Vector512.Create((short)1));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Q4Quad(byte* w, sbyte* a)
        {
            var low = Vector512.Create((byte)0x0F);
            var packed = Avx512BW.LoadVector512(w);
            var lo = Avx512BW.MultiplyAddAdjacent(packed & low, Avx512BW.LoadVector512(a));
            var hi = Avx512BW.MultiplyAddAdjacent(Avx512BW.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & low, Avx512BW.LoadVector512(a + 64));
            // |nibble·a| ≤ 15·127, so the pair sums of lo + hi stay far inside int16.
            return Avx512BW.MultiplyAddAdjacent(lo + hi, Vector512.Create((short)1));
        }
    }
}
