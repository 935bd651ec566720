using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// <see cref="DecodeMatVec"/> for several activation rows (a batched decode step, a verify run): the work that depends on
/// the weights only is done once per weight row and shared by every activation row. A Q8_0 weight row is re-laid out once
/// (transposed so that, per 16 blocks, 64-byte vector k holds the k-th four codes of each of the 16 blocks; then split into
/// |code| and a sign mask) and its half scales are widened once; activation rows are transposed the same way once per
/// call. Per activation row, 8 maddubs/madd steps then leave each block's integer dot in its own lane, with no lane
/// reduction; four activation rows share each load of the prepared weight vectors.
/// </summary>
/// <remarks>
/// Bit-identity with <see cref="DecodeMatVec.Q8_0{TDot}"/> (either instruction family): each block's integer dot is exact
/// however it is summed, and the float work per activation row is the single-row kernel's, instruction for instruction:
/// per 16 blocks, the dot times (widened half scale × padded activation scale), fused-added to the same 16 lanes in the
/// same block order, the last 1..15 blocks with zero scales for absent blocks, and one final
/// <see cref="Vector512.Sum{T}(Vector512{T})"/>.
/// </remarks>
internal static unsafe class DecodeMatVecRows
{
    // Codes of 16 blocks (512 bytes) in the transposed layout: 8 vectors of 64 bytes.
    private const int StepBytes = 512;

    [ThreadStatic] private static byte[]? t_weightRow;
    [ThreadStatic] private static float[]? t_weightScales;
    [ThreadStatic] private static sbyte[]? t_activations;

    /// <summary>Whether the kernel runs here for <paramref name="type"/> (Q8_0 with AVX-512 BW).</summary>
    public static bool Handles(GgufTensorType type) => type == GgufTensorType.Q8_0 && Avx512BW.IsSupported;

    /// <summary>
    /// Y[t, r] for weight rows [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) and every activation row t, equal bit
    /// for bit to <see cref="DecodeMatVec.Run"/>; <paramref name="output"/> points at column 0 of activation row 0, rows
    /// <paramref name="outputStride"/> apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(QuantizedMatrix weights, Q8Activations activations, float* output, int outputStride, int rowStart, int rowEnd)
    {
        int nb = weights.BlocksPerRow, rowBytes = weights.RowCodeBytes, n = activations.Rows, columns = activations.Columns;
        int padded = activations.PaddedBlocks, full = nb / 16 * 16, fullBytes = full * 32;
        // Weight row: |codes| then sign masks (fullBytes each); activations: each row's transposed codes.
        var weightRow = t_weightRow is { } buffer && buffer.Length >= 2 * fullBytes ? buffer : t_weightRow = new byte[Math.Max(2 * fullBytes, StepBytes)];
        var weightScales = t_weightScales is { } s && s.Length >= padded ? s : t_weightScales = new float[padded];
        long activationBytes = (long)n * fullBytes;
        var transposed = t_activations is { } a && a.Length >= activationBytes ? a : t_activations = new sbyte[Math.Max(activationBytes, StepBytes)];
        fixed (byte* w0 = weights.Codes)
        fixed (ushort* ws0 = weights.Scales)
        fixed (sbyte* codes = activations.Codes)
        fixed (float* sa = activations.PaddedScales)
        fixed (byte* wabs = weightRow)
        fixed (float* wf = weightScales)
        fixed (sbyte* at = transposed)
        {
            byte* wsign = wabs + fullBytes;
            var groups = stackalloc Vector512<sbyte>[8];
            var halves = stackalloc Vector256<int>[16];
            var accumulators = stackalloc Vector512<float>[4];
            for (int t = 0; t < n; t++)
            {
                for (int b = 0; b < full; b += 16)
                {
                    Transpose16((byte*)(codes + ((long)t * columns) + (b * 32)), halves, groups);
                    for (int k = 0; k < 8; k++) Avx512BW.Store(at + ((long)t * fullBytes) + (b * 32) + (k * 64), groups[k]);
                }
            }
            byte* w = w0 + ((long)weights.FirstRow * rowBytes);
            ushort* ws = ws0 + ((long)weights.FirstRow * nb);
            for (int r = rowStart; r < rowEnd; r++)
            {
                byte* wr = w + ((long)r * rowBytes);
                ushort* wsr = ws + ((long)r * nb);
                for (int b = 0; b < full; b += 16)
                {
                    Transpose16(wr + (b * 32), halves, groups);
                    for (int k = 0; k < 8; k++)
                    {
                        Avx512BW.Store((sbyte*)(wsign + (b * 32) + (k * 64)), Vector512.LessThan(groups[k], Vector512<sbyte>.Zero));
                        Avx512BW.Store(wabs + (b * 32) + (k * 64), Avx512BW.Abs(groups[k]));
                    }
                }
                for (int b = 0; b < full; b += 16) Avx512F.Store(wf + b, DecodeMatVec.HalfToSingle(Avx.LoadVector256(wsr + b)));
                for (int t = 0; t < n; t += 4)
                {
                    // Four activation rows share each weight load; a last group of 1..3 runs the same code per row.
                    int count = Math.Min(4, n - t);
                    if (count == 4) Four(wabs, wsign, wf, at + ((long)t * fullBytes), fullBytes, sa + (t * padded), padded, full, accumulators);
                    else for (int j = 0; j < count; j++) accumulators[j] = One(wabs, wsign, wf, at + ((long)(t + j) * fullBytes), sa + ((t + j) * padded), full);
                    for (int j = 0; j < count; j++)
                    {
                        var acc = accumulators[j];
                        if (full < nb) acc = Tail(wr + (full * 32), wsr + full, codes + ((long)(t + j) * columns) + (full * 32), sa + ((t + j) * padded) + full, nb - full, acc);
                        output[((long)(t + j) * outputStride) + r] = Vector512.Sum(acc);
                    }
                }
            }
        }
    }

    /// <summary>One activation row against the prepared weight row's whole 16-block steps: its accumulator lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> One(byte* wabs, byte* wsign, float* wf, sbyte* ar, float* sar, int full)
    {
        var ones = Vector512.Create((short)1);
        var acc = Vector512<float>.Zero;
        for (int b = 0; b < full; b += 16)
        {
            int o = b * 32;
            // Two chains keep the latency hidden; integer sums are exact in any order.
            Vector512<int> even = Vector512<int>.Zero, odd = Vector512<int>.Zero;
            for (int k = o; k < o + 512; k += 128)
            {
                even += Dot(Avx512BW.LoadVector512(wabs + k), Avx512BW.LoadVector512((sbyte*)(wsign + k)), Avx512BW.LoadVector512(ar + k), ones);
                odd += Dot(Avx512BW.LoadVector512(wabs + k + 64), Avx512BW.LoadVector512((sbyte*)(wsign + k + 64)), Avx512BW.LoadVector512(ar + k + 64), ones);
            }
            // As DecodeMatVec.Accumulate on true dots: the same operations on the same values.
            var scale = Avx512F.LoadVector512(wf + b) * Avx512F.LoadVector512(sar + b);
            acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(even + odd), scale, acc);
        }
        return acc;
    }

    /// <summary>
    /// Four activation rows (<paramref name="rowBytes"/> of transposed codes apart) against the prepared weight row's whole
    /// 16-block steps, each weight vector loaded once for the four; their accumulator lanes go to <paramref name="accumulators"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Four(byte* wabs, byte* wsign, float* wf, sbyte* ar, int rowBytes, float* sa, int padded, int full, Vector512<float>* accumulators)
    {
        var ones = Vector512.Create((short)1);
        Vector512<float> acc0 = Vector512<float>.Zero, acc1 = Vector512<float>.Zero, acc2 = Vector512<float>.Zero, acc3 = Vector512<float>.Zero;
        sbyte* a1 = ar + rowBytes, a2 = a1 + rowBytes, a3 = a2 + rowBytes;
        for (int b = 0; b < full; b += 16)
        {
            int o = b * 32;
            Vector512<int> d0 = Vector512<int>.Zero, d1 = Vector512<int>.Zero, d2 = Vector512<int>.Zero, d3 = Vector512<int>.Zero;
            for (int k = o; k < o + 512; k += 64)
            {
                var magnitude = Avx512BW.LoadVector512(wabs + k);
                var negative = Avx512BW.LoadVector512((sbyte*)(wsign + k));
                d0 += Dot(magnitude, negative, Avx512BW.LoadVector512(ar + k), ones);
                d1 += Dot(magnitude, negative, Avx512BW.LoadVector512(a1 + k), ones);
                d2 += Dot(magnitude, negative, Avx512BW.LoadVector512(a2 + k), ones);
                d3 += Dot(magnitude, negative, Avx512BW.LoadVector512(a3 + k), ones);
            }
            var scales = Avx512F.LoadVector512(wf + b);
            acc0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(d0), scales * Avx512F.LoadVector512(sa + b), acc0);
            acc1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(d1), scales * Avx512F.LoadVector512(sa + padded + b), acc1);
            acc2 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(d2), scales * Avx512F.LoadVector512(sa + (2 * padded) + b), acc2);
            acc3 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(d3), scales * Avx512F.LoadVector512(sa + (3 * padded) + b), acc3);
        }
        accumulators[0] = acc0;
        accumulators[1] = acc1;
        accumulators[2] = acc2;
        accumulators[3] = acc3;
    }

    /// <summary>One group of 16 blocks: |w| × (a with w's sign) through maddubs/madd, one int32 lane per block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Dot(Vector512<byte> magnitude, Vector512<sbyte> negative, Vector512<sbyte> a, Vector512<short> ones)
    {
        // As the one-row kernel: a or −a by w's sign (codes are in [−127, 127], so −a never overflows).
        var signed = Vector512.ConditionalSelect(negative, Vector512<sbyte>.Zero - a, a);
        return Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(magnitude, signed), ones);
    }

    /// <summary>
    /// The last 1..15 blocks, as <c>DecodeMatVec.Q8_0Tail</c>: exact integer dots of the present blocks (zero for absent
    /// ones) and the absent blocks' half scales zero, through the same accumulate step.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector512<float> Tail(byte* w, ushort* ws, sbyte* a, float* sa, int count, Vector512<float> acc)
    {
        int* dots = stackalloc int[16];
        ushort* scales = stackalloc ushort[16];
        for (int i = 0; i < 16; i++)
        {
            int dot = 0;
            if (i < count)
            {
                sbyte* wb = (sbyte*)w + (i * 32);
                sbyte* ab = a + (i * 32);
                for (int j = 0; j < 32; j++) dot += wb[j] * ab[j];
            }
            dots[i] = dot;
            scales[i] = i < count ? ws[i] : (ushort)0;
        }
        var scale = DecodeMatVec.HalfToSingle(Avx.LoadVector256(scales)) * Avx512F.LoadVector512(sa);
        return Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512F.LoadVector512(dots)), scale, acc);
    }

    /// <summary>
    /// 16 blocks of 32 codes → 8 vectors of 64 bytes, vector k holding the k-th four codes of blocks 0..15 in order (two
    /// 8-block transposes side by side).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose16(byte* source, Vector256<int>* halves, Vector512<sbyte>* groups)
    {
        // Groups are joined from 32-byte halves and written whole: 64-byte loads of two recent 32-byte stores would stall
        // store forwarding.
        Transpose8(source, halves);
        Transpose8(source + 256, halves + 8);
        for (int k = 0; k < 8; k++) groups[k] = Vector512.Create(halves[k], halves[8 + k]).AsSByte();
    }

    /// <summary>
    /// 8 blocks of 32 codes (an 8×8 matrix of 4-byte groups, a row per block) → its transpose in <paramref name="target"/>[k]
    /// = group k of blocks 0..7: lane b of a 4-byte dot over the 8 groups sums block b.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(byte* source, Vector256<int>* target)
    {
        var r0 = Avx.LoadVector256((int*)source);
        var r1 = Avx.LoadVector256((int*)(source + 32));
        var r2 = Avx.LoadVector256((int*)(source + 64));
        var r3 = Avx.LoadVector256((int*)(source + 96));
        var r4 = Avx.LoadVector256((int*)(source + 128));
        var r5 = Avx.LoadVector256((int*)(source + 160));
        var r6 = Avx.LoadVector256((int*)(source + 192));
        var r7 = Avx.LoadVector256((int*)(source + 224));
        var t0 = Avx2.UnpackLow(r0, r1);
        var t1 = Avx2.UnpackHigh(r0, r1);
        var t2 = Avx2.UnpackLow(r2, r3);
        var t3 = Avx2.UnpackHigh(r2, r3);
        var t4 = Avx2.UnpackLow(r4, r5);
        var t5 = Avx2.UnpackHigh(r4, r5);
        var t6 = Avx2.UnpackLow(r6, r7);
        var t7 = Avx2.UnpackHigh(r6, r7);
        var u0 = Avx2.UnpackLow(t0.AsInt64(), t2.AsInt64()).AsInt32();
        var u1 = Avx2.UnpackHigh(t0.AsInt64(), t2.AsInt64()).AsInt32();
        var u2 = Avx2.UnpackLow(t1.AsInt64(), t3.AsInt64()).AsInt32();
        var u3 = Avx2.UnpackHigh(t1.AsInt64(), t3.AsInt64()).AsInt32();
        var u4 = Avx2.UnpackLow(t4.AsInt64(), t6.AsInt64()).AsInt32();
        var u5 = Avx2.UnpackHigh(t4.AsInt64(), t6.AsInt64()).AsInt32();
        var u6 = Avx2.UnpackLow(t5.AsInt64(), t7.AsInt64()).AsInt32();
        var u7 = Avx2.UnpackHigh(t5.AsInt64(), t7.AsInt64()).AsInt32();
        target[0] = Avx2.Permute2x128(u0, u4, 0x20);
        target[1] = Avx2.Permute2x128(u1, u5, 0x20);
        target[2] = Avx2.Permute2x128(u2, u6, 0x20);
        target[3] = Avx2.Permute2x128(u3, u7, 0x20);
        target[4] = Avx2.Permute2x128(u0, u4, 0x31);
        target[5] = Avx2.Permute2x128(u1, u5, 0x31);
        target[6] = Avx2.Permute2x128(u2, u6, 0x31);
        target[7] = Avx2.Permute2x128(u3, u7, 0x31);
    }
}
