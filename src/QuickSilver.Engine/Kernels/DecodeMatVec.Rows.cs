using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// <see cref="DecodeMatVec"/> for several activation rows (a batched decode step, a verify run): the work that depends on
/// the weights only is done once per weight row and shared by every activation row. A Q8_0 weight row is re-laid out once
/// (transposed so that, per 16 blocks, 64-byte vector k holds the k-th four codes of each of the 16 blocks; then split into
/// |code| and a sign mask) and its half scales are widened once; activation rows are transposed the same way (codes and
/// negated codes) once per call. Per activation row, 8 maddubs/madd steps then leave each block's integer dot in its own
/// lane, with no lane reduction.
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
    public static void Run(QuantizedMatrix weights, Q8Activations activations, float* output, int outputStride, int rowStart, int rowEnd)
    {
        int nb = weights.BlocksPerRow, rowBytes = weights.RowCodeBytes, n = activations.Rows, columns = activations.Columns;
        int padded = activations.PaddedBlocks, full = nb / 16 * 16, fullBytes = full * 32;
        // Weight row: |codes| then sign masks (fullBytes each). Activations: per row, codes then negated codes.
        var weightRow = t_weightRow is { } buffer && buffer.Length >= 2 * fullBytes ? buffer : t_weightRow = new byte[Math.Max(2 * fullBytes, StepBytes)];
        var weightScales = t_weightScales is { } s && s.Length >= padded ? s : t_weightScales = new float[padded];
        long activationBytes = 2L * n * fullBytes;
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
            for (int t = 0; t < n; t++)
            {
                sbyte* ar = at + (2L * t * fullBytes), negated = ar + fullBytes;
                for (int b = 0; b < full; b += 16) Transpose16((byte*)(codes + ((long)t * columns) + (b * 32)), (byte*)(ar + (b * 32)));
                for (int i = 0; i < fullBytes; i += 64) Avx512BW.Store(negated + i, Vector512<sbyte>.Zero - Avx512BW.LoadVector512(ar + i));
            }
            byte* w = w0 + ((long)weights.FirstRow * rowBytes);
            ushort* ws = ws0 + ((long)weights.FirstRow * nb);
            var ones = Vector512.Create((short)1);
            for (int r = rowStart; r < rowEnd; r++)
            {
                byte* wr = w + ((long)r * rowBytes);
                ushort* wsr = ws + ((long)r * nb);
                for (int b = 0; b < full; b += 16) Transpose16(wr + (b * 32), wabs + (b * 32));
                for (int i = 0; i < fullBytes; i += 64)
                {
                    var wv = Avx512BW.LoadVector512((sbyte*)(wabs + i));
                    Avx512BW.Store((sbyte*)(wsign + i), Vector512.LessThan(wv, Vector512<sbyte>.Zero));
                    Avx512BW.Store(wabs + i, Avx512BW.Abs(wv));
                }
                for (int b = 0; b < full; b += 16) Avx512F.Store(wf + b, DecodeMatVec.HalfToSingle(Avx.LoadVector256(wsr + b)));
                for (int t = 0; t < n; t++)
                {
                    var acc = Vector512<float>.Zero;
                    sbyte* ar = at + (2L * t * fullBytes), negated = ar + fullBytes;
                    float* sar = sa + (t * padded);
                    for (int b = 0; b < full; b += 16)
                    {
                        int o = b * 32;
                        // Two chains keep the latency hidden; integer sums are exact in any order.
                        Vector512<int> even = Vector512<int>.Zero, odd = Vector512<int>.Zero;
                        for (int k = 0; k < 8; k += 2)
                        {
                            even += Dot(wabs + o + (k * 64), wsign + o + (k * 64), ar + o + (k * 64), negated + o + (k * 64), ones);
                            odd += Dot(wabs + o + (k * 64) + 64, wsign + o + (k * 64) + 64, ar + o + (k * 64) + 64, negated + o + (k * 64) + 64, ones);
                        }
                        // As DecodeMatVec.Accumulate on true dots: the same operations on the same values.
                        var scale = Avx512F.LoadVector512(wf + b) * Avx512F.LoadVector512(sar + b);
                        acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(even + odd), scale, acc);
                    }
                    if (full < nb) acc = Tail(wr + (full * 32), wsr + full, codes + ((long)t * columns) + (full * 32), sar + full, nb - full, acc);
                    output[((long)t * outputStride) + r] = Vector512.Sum(acc);
                }
            }
        }
    }

    /// <summary>Group k of 16 blocks: |w| × (a with w's sign) through maddubs/madd, one int32 lane per block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Dot(byte* magnitudes, byte* signs, sbyte* a, sbyte* negated, Vector512<short> ones)
    {
        var signed = Vector512.ConditionalSelect(Avx512BW.LoadVector512((sbyte*)signs), Avx512BW.LoadVector512(negated), Avx512BW.LoadVector512(a));
        return Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Avx512BW.LoadVector512(magnitudes), signed), ones);
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
    private static void Transpose16(byte* source, byte* target)
    {
        Transpose8(source, target);
        Transpose8(source + 256, target + 32);
    }

    /// <summary>
    /// 8 blocks of 32 codes (an 8×8 matrix of 4-byte groups, a row per block) → its transpose, 32 bytes per group k at
    /// <paramref name="target"/> + 64k: lane b of a 4-byte dot over the 8 groups sums block b.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(byte* source, byte* target)
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
        int* o = (int*)target;
        Avx.Store(o, Avx2.Permute2x128(u0, u4, 0x20));
        Avx.Store(o + 16, Avx2.Permute2x128(u1, u5, 0x20));
        Avx.Store(o + 32, Avx2.Permute2x128(u2, u6, 0x20));
        Avx.Store(o + 48, Avx2.Permute2x128(u3, u7, 0x20));
        Avx.Store(o + 64, Avx2.Permute2x128(u0, u4, 0x31));
        Avx.Store(o + 80, Avx2.Permute2x128(u1, u5, 0x31));
        Avx.Store(o + 96, Avx2.Permute2x128(u2, u6, 0x31));
        Avx.Store(o + 112, Avx2.Permute2x128(u3, u7, 0x31));
    }
}
