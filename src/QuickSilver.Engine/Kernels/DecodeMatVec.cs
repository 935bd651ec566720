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
                        ? Rows4<Q8_0Rows, TDot, THalves>(wr, wsr, rowBytes, nb, a + ((long)t * aStride), sa + (t * padded), sums + (t * padded))
                        : Rows4<Q4_0Rows, TDot, THalves>(wr, wsr, rowBytes, nb, a + ((long)t * aStride), sa + (t * padded), sums + (t * padded));
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

    /// <summary>Four consecutive rows (<paramref name="rowBytes"/> apart) of a repacked format · one activation row: their four results.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector128<float> Rows4<TFormat, TDot, THalves>(byte* w, ushort* ws, int rowBytes, int nb, sbyte* a, float* sa, int* sums)
        where TFormat : struct, IRepackedRows where TDot : struct, IBlockDot where THalves : struct, IHalfWidening
    {
        var c0 = TFormat.StepLoop<TDot, THalves>(w, ws, a, sa, sums, nb);
        var c1 = TFormat.StepLoop<TDot, THalves>(w + rowBytes, ws + nb, a, sa, sums, nb);
        var c2 = TFormat.StepLoop<TDot, THalves>(w + (2 * rowBytes), ws + (2 * nb), a, sa, sums, nb);
        var c3 = TFormat.StepLoop<TDot, THalves>(w + (3 * rowBytes), ws + (3 * nb), a, sa, sums, nb);
        int b = nb & ~15;
        if (b < nb)
        {
            c0 = TFormat.Tail<TDot, THalves>(w, ws, a, sa, sums, nb, b, c0);
            c1 = TFormat.Tail<TDot, THalves>(w + rowBytes, ws + nb, a, sa, sums, nb, b, c1);
            c2 = TFormat.Tail<TDot, THalves>(w + (2 * rowBytes), ws + (2 * nb), a, sa, sums, nb, b, c2);
            c3 = TFormat.Tail<TDot, THalves>(w + (3 * rowBytes), ws + (3 * nb), a, sa, sums, nb, b, c3);
        }
        return Sum4(c0, c1, c2, c3);
    }

    /// <summary>A repacked 32-value format's whole 16-block steps and ragged tail, so one four-row body serves Q8_0 and Q4_0.</summary>
    private interface IRepackedRows
    {
        static abstract Vector512<float> StepLoop<TDot, THalves>(byte* w, ushort* ws, sbyte* a, float* sa, int* sums, int nb)
            where TDot : struct, IBlockDot where THalves : struct, IHalfWidening;

        static abstract Vector512<float> Tail<TDot, THalves>(byte* w, ushort* ws, sbyte* a, float* sa, int* sums, int nb, int b, Vector512<float> acc)
            where TDot : struct, IBlockDot where THalves : struct, IHalfWidening;
    }

    private readonly struct Q8_0Rows : IRepackedRows
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> StepLoop<TDot, THalves>(byte* w, ushort* ws, sbyte* a, float* sa, int* sums, int nb)
            where TDot : struct, IBlockDot where THalves : struct, IHalfWidening => Q8_0StepLoop<TDot, THalves>(w, ws, a, sa, sums, nb);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Tail<TDot, THalves>(byte* w, ushort* ws, sbyte* a, float* sa, int* sums, int nb, int b, Vector512<float> acc)
            where TDot : struct, IBlockDot where THalves : struct, IHalfWidening => Q8_0Tail<TDot, THalves>(w, ws, a, sa, sums, nb, b, acc);
    }

    private readonly struct Q4_0Rows : IRepackedRows
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> StepLoop<TDot, THalves>(byte* w, ushort* ws, sbyte* a, float* sa, int* sums, int nb)
            where TDot : struct, IBlockDot where THalves : struct, IHalfWidening => Q4_0StepLoop<TDot, THalves>(w, ws, a, sa, sums, nb);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Tail<TDot, THalves>(byte* w, ushort* ws, sbyte* a, float* sa, int* sums, int nb, int b, Vector512<float> acc)
            where TDot : struct, IBlockDot where THalves : struct, IHalfWidening => Q4_0Tail<TDot, THalves>(w, ws, a, sa, sums, nb, b, acc);
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
            WeightPrefetch.Lines(wb, 8);
            var dots = Reduce(
                TDot.Q8Pair(wb, ab), TDot.Q8Pair(wb + 64, ab + 64), TDot.Q8Pair(wb + 128, ab + 128), TDot.Q8Pair(wb + 192, ab + 192),
                TDot.Q8Pair(wb + 256, ab + 256), TDot.Q8Pair(wb + 320, ab + 320), TDot.Q8Pair(wb + 384, ab + 384), TDot.Q8Pair(wb + 448, ab + 448));
            acc = Accumulate<THalves>(dots, Avx.LoadVector256(ws + b), sa + b, sums + b, TDot.Q8Bias, acc);
        }
        return acc;
    }

    // The last 1..15 blocks: bytes past them are masked to zero (weights and codes alike, so the loads never leave the
    // rows) and absent pairs are zero vectors, so the step has the same shape and the same integers as a full one.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector512<int> Q8_0TailDots<TDot>(byte* w, sbyte* a, int count) where TDot : struct, IBlockDot
    {
        int valid = count * 32;
        Vector512<int> v0 = TailPair<TDot>(w, a, valid), v1 = default, v2 = default, v3 = default, v4 = default, v5 = default, v6 = default, v7 = default;
        if (count > 2) v1 = TailPair<TDot>(w + 64, a + 64, valid - 64);
        if (count > 4) v2 = TailPair<TDot>(w + 128, a + 128, valid - 128);
        if (count > 6) v3 = TailPair<TDot>(w + 192, a + 192, valid - 192);
        if (count > 8) v4 = TailPair<TDot>(w + 256, a + 256, valid - 256);
        if (count > 10) v5 = TailPair<TDot>(w + 320, a + 320, valid - 320);
        if (count > 12) v6 = TailPair<TDot>(w + 384, a + 384, valid - 384);
        if (count > 14) v7 = TailPair<TDot>(w + 448, a + 448, valid - 448);
        return Reduce(v0, v1, v2, v3, v4, v5, v6, v7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> TailPair<TDot>(byte* w, sbyte* a, int valid) where TDot : struct, IBlockDot
    {
        var mask = FirstBytes(valid);
        return TDot.Q8PairOf(Avx512BW.MaskLoad((sbyte*)w, mask.AsSByte(), Vector512<sbyte>.Zero), Avx512BW.MaskLoad(a, mask.AsSByte(), Vector512<sbyte>.Zero));
    }

    /// <summary>All-ones in bytes [0, <paramref name="valid"/>), zeros after (a load mask).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> FirstBytes(int valid) => Vector512.LessThan(Vector512<byte>.Indices, Vector512.Create((byte)Math.Min(valid, 64)));

    /// <summary>The tail's <paramref name="count"/> (&lt; 16) weight scales, zeros after them (never read).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ushort> TailScales(ushort* ws, int count) =>
        Avx512BW.VL.MaskLoad(ws, Vector256.LessThan(Vector256<ushort>.Indices, Vector256.Create((ushort)count)), Vector256<ushort>.Zero);

    /// <summary>
    /// One Q4_0 row (as stored, <see cref="Q4_0Layout"/>) · one activation row in <see cref="Q8Activations.Q4Order"/>: per
    /// whole group of 16 blocks, 64-byte load k holds word k of the 16 blocks, whose low nibbles meet ordered code vector
    /// k and high nibbles vector 4 + k; the last 1..15 blocks (GGUF order) take four blocks per 64-byte load.
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
            // A whole group is stored transposed (Q4_0Layout), so its dots come out one lane per block.
            WeightPrefetch.Lines(w + (b * 16), 4);
            acc = Accumulate<THalves>(TDot.Q4Group(w + (b * 16), a + (b * 32)), Avx.LoadVector256(ws + b), sa + b, sums + b, 3, acc);
        }
        return acc;
    }

    // The last 1..15 blocks: the last group's nibbles past them are masked to zero (the ordered codes are zero-padded to
    // whole groups) and absent groups are zero vectors.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector512<int> Q4_0TailDots<TDot>(byte* w, sbyte* a, int count) where TDot : struct, IBlockDot
    {
        int valid = count * 16;
        Vector512<int> v0 = TDot.Q4QuadOf(Avx512BW.MaskLoad(w, FirstBytes(valid), Vector512<byte>.Zero), a), v1 = default, v2 = default, v3 = default;
        if (count > 4) v1 = TDot.Q4QuadOf(Avx512BW.MaskLoad(w + 64, FirstBytes(valid - 64), Vector512<byte>.Zero), a + 128);
        if (count > 8) v2 = TDot.Q4QuadOf(Avx512BW.MaskLoad(w + 128, FirstBytes(valid - 128), Vector512<byte>.Zero), a + 256);
        if (count > 12) v3 = TDot.Q4QuadOf(Avx512BW.MaskLoad(w + 192, FirstBytes(valid - 192), Vector512<byte>.Zero), a + 384);
        return Reduce(v0, v1, v2, v3);
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

        /// <summary>
        /// A transposed group of 16 Q4_0 blocks (<see cref="Q4_0Layout"/>, 256 bytes) · its 512 ordered codes: lane j is
        /// block j's Σ nibble·a.
        /// </summary>
        static abstract Vector512<int> Q4Group(byte* w, sbyte* a);

        /// <summary><see cref="Q8Pair"/> of loaded weights and codes.</summary>
        static abstract Vector512<int> Q8PairOf(Vector512<sbyte> w, Vector512<sbyte> a);

        /// <summary><see cref="Q4Quad"/> of loaded nibbles.</summary>
        static abstract Vector512<int> Q4QuadOf(Vector512<byte> packed, sbyte* a);
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
        public static Vector512<int> Q4Quad(byte* w, sbyte* a) => KQuantDot.Join(Q4Pair(Avx.LoadVector256(w), a, a + 64).AsByte(), Q4Pair(Avx.LoadVector256(w + 32), a + 32, a + 96).AsByte()).AsInt32();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Q4QuadOf(Vector512<byte> packed, sbyte* a) =>
            KQuantDot.Join(Q4Pair(packed.GetLower(), a, a + 64).AsByte(), Q4Pair(packed.GetUpper(), a + 32, a + 96).AsByte()).AsInt32();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Q8PairOf(Vector512<sbyte> w, Vector512<sbyte> a) =>
            KQuantDot.Join(Q8Block(w.GetLower(), a.GetLower()).AsByte(), Q8Block(w.GetUpper(), a.GetUpper()).AsByte()).AsInt32();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Q4Group(byte* w, sbyte* a) => KQuantDot.Join(Q4Half(w, a).AsByte(), Q4Half(w + 32, a + 32).AsByte()).AsInt32();

        // Blocks 0..7 (or 8..15, from w + 32 and a + 32) of a transposed group: four words, each meeting two code vectors.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<int> Q4Half(byte* w, sbyte* a)
        {
            var acc = Vector256<int>.Zero;
            for (int k = 0; k < 4; k++) acc = Q4Pair(Avx.LoadVector256(w + (64 * k)), a + (64 * k), a + 256 + (64 * k), acc);
            return acc;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<int> Q8Block(Vector256<sbyte> w, Vector256<sbyte> a) =>
            AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, w.AsByte() ^ Vector256.Create((byte)0x80), a);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<int> Q4Pair(Vector256<byte> packed, sbyte* aLow, sbyte* aHigh, Vector256<int> start = default)
        {
            var low = Vector256.Create((byte)0x0F);
            var lo = AvxVnni.MultiplyWideningAndAdd(start, packed & low, Avx.LoadVector256(aLow));
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
        public static Vector512<int> Q8PairOf(Vector512<sbyte> w, Vector512<sbyte> a) => Q8(w, a);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Q4Quad(byte* w, sbyte* a) => Q4QuadOf(Avx512BW.LoadVector512(w), a);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Q4QuadOf(Vector512<byte> packed, sbyte* a)
        {
            var low = Vector512.Create((byte)0x0F);
            var lo = Avx512BW.MultiplyAddAdjacent(packed & low, Avx512BW.LoadVector512(a));
            var hi = Avx512BW.MultiplyAddAdjacent(HighNibbles(packed), Avx512BW.LoadVector512(a + 64));
            // |nibble·a| ≤ 15·127, so the pair sums of lo + hi stay far inside int16.
            return Avx512BW.MultiplyAddAdjacent(lo + hi, Vector512.Create((short)1));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Q4Group(byte* w, sbyte* a)
        {
            var low = Vector512.Create((byte)0x0F);
            var w0 = Avx512BW.LoadVector512(w);
            var w1 = Avx512BW.LoadVector512(w + 64);
            var w2 = Avx512BW.LoadVector512(w + 128);
            var w3 = Avx512BW.LoadVector512(w + 192);
            var s0 = Avx512BW.MultiplyAddAdjacent(w0 & low, Avx512BW.LoadVector512(a)) + Avx512BW.MultiplyAddAdjacent(HighNibbles(w0), Avx512BW.LoadVector512(a + 256));
            var s1 = Avx512BW.MultiplyAddAdjacent(w1 & low, Avx512BW.LoadVector512(a + 64)) + Avx512BW.MultiplyAddAdjacent(HighNibbles(w1), Avx512BW.LoadVector512(a + 320));
            var s2 = Avx512BW.MultiplyAddAdjacent(w2 & low, Avx512BW.LoadVector512(a + 128)) + Avx512BW.MultiplyAddAdjacent(HighNibbles(w2), Avx512BW.LoadVector512(a + 384));
            var s3 = Avx512BW.MultiplyAddAdjacent(w3 & low, Avx512BW.LoadVector512(a + 192)) + Avx512BW.MultiplyAddAdjacent(HighNibbles(w3), Avx512BW.LoadVector512(a + 448));
            // Each int16 lane sums 16 products |nibble·a| ≤ 15·127 (codes are in [−127, 127]): at most 30480, inside int16.
            return Avx512BW.MultiplyAddAdjacent((s0 + s1) + (s2 + s3), Vector512.Create((short)1));
        }
    }
}
