using System.Runtime.CompilerServices;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// The AVX-512 VNNI decode kernel of Q8_0 and Q4_0 weights against N activation rows, as machine code
/// (Kernels/Native/decode_vnni.c, compiled by build-decode-vnni.sh into <c>DecodeVnniCode.Bytes.cs</c>): one decode token,
/// a batched decode step, a verify run. Per (weight row, activation row) it computes exactly what
/// <see cref="DecodeMatVec"/> computes (the same exact integer block dots, one lane per block, then the same float
/// operations in the same order), so every result is bit-identical to the managed one-row kernel whatever the number of
/// activation rows; the weight-only work (loads, the Q8_0 word transpose, the Q4_0 nibble split, scale widening) is done
/// once per weight row for all activation rows.
/// </summary>
/// <remarks>
/// Why machine code: on AVX-512 VNNI CPUs without AVX-VNNI (AMD Zen 4) .NET 10 cannot emit vpdpbusd (see
/// <see cref="GemmVnniCode"/>), and the managed maddubs/madd/sign-select form is ~5 instructions per 64 products against
/// one, which made an 8-row step cost about five one-row steps. Loaded by <see cref="ExecutableCode"/>; where it cannot
/// run, or with <c>QUICKSILVER_DECODE_VNNI=0</c>, the managed kernels (<see cref="DecodeMatVec"/>,
/// <see cref="DecodeMatVecRows"/>) run.
/// </remarks>
internal static unsafe partial class DecodeVnniCode
{
    private static readonly nint s_code = ExecutableCode.Load(Code, "QUICKSILVER_DECODE_VNNI");
    private static readonly int[] s_tables = BuildTables();

    // A weight row's prepared groups (8 code vectors and 16 widened scales each), reused by every activation row.
    private const int PreparedGroupBytes = 576;

    [ThreadStatic] private static byte[]? t_prepared;

    /// <summary>Whether the kernel is loaded (CPU with AVX-512 F/BW/VNNI, Linux x64, not switched off).</summary>
    public static bool IsAvailable => s_code != 0;

    /// <summary>Whether products take this kernel when it is loaded (tests and benchmarks compare both paths in one process).</summary>
    internal static bool Enabled { get; set; } = true;

    /// <summary>
    /// Whether one-row products (plain decode) take this kernel too (default false: a single row cannot share the Q8_0
    /// transpose, and the managed one-row kernel streams faster); several rows always do when it handles them.
    /// </summary>
    internal static bool OneRow { get; set; }

    /// <summary>Whether <paramref name="type"/> runs on this kernel here.</summary>
    public static bool Handles(GgufTensorType type) => Enabled && IsAvailable && type is GgufTensorType.Q8_0 or GgufTensorType.Q4_0;

    /// <summary>
    /// Y[t, r] for weight rows [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) and every activation row t, equal bit
    /// for bit to <see cref="DecodeMatVec.Run"/>; <paramref name="output"/> points at column 0 of activation row 0, rows
    /// <paramref name="outputStride"/> apart.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">The kernel is not loaded here.</exception>
    public static void Run(QuantizedMatrix weights, Q8Activations activations, float* output, int outputStride, int rowStart, int rowEnd)
    {
        if (!IsAvailable) throw new PlatformNotSupportedException("The AVX-512 VNNI decode kernel is not loaded on this machine.");
        int nb = weights.BlocksPerRow, rowBytes = weights.RowCodeBytes, n = activations.Rows, padded = activations.PaddedBlocks;
        if (rowEnd <= rowStart || n == 0) return;
        int preparedBytes = (nb + 15) / 16 * PreparedGroupBytes;
        var scratch = t_prepared is { } buffer && buffer.Length >= preparedBytes ? buffer : t_prepared = GC.AllocateArray<byte>(preparedBytes, pinned: true);
        fixed (byte* w0 = weights.Codes)
        fixed (ushort* ws0 = weights.Scales)
        fixed (sbyte* codes = activations.GroupOrder)
        fixed (float* sa = activations.PaddedScales)
        fixed (int* sums = activations.BlockSums)
        fixed (int* tables = s_tables)
        fixed (byte* prepared = scratch)
        {
            long first = (long)weights.FirstRow + rowStart;
            DecodeRows(w0 + (first * rowBytes), ws0 + (first * nb), rowBytes, nb, weights.Type == GgufTensorType.Q4_0 ? 1 : 0, codes, activations.GroupRowBytes,
                sa, sums, padded, n, output + rowStart, outputStride, rowEnd - rowStart, tables, prepared);
        }
    }

    // A plain (GC-transitioning) call: a product's row range can run for milliseconds, and the arrays are pinned by fixed.
    private static delegate* unmanaged<byte*, ushort*, long, int, int, sbyte*, long, float*, int*, int, int, float*, long, int, int*, byte*, void> DecodeRows =>
        (delegate* unmanaged<byte*, ushort*, long, int, int, sbyte*, long, float*, int*, int, int, float*, long, int, int*, byte*, void>)(s_code + DecodeRowsOffset);

    /// <summary>
    /// The kernel's vpermt2d indices and byte constants (see decode_vnni.c): 16 int32 per vector. A Q8_0 group of 16 blocks
    /// is 8 vectors whose 7-bit dword index is (vector b3 b2 b1 | lane b0 w2 w1 w0) for block b, word w; stage s (0, 1)
    /// exchanges vector bit s with lane bit s, the last stage brings (w2 w1 w0) to the vector and the block to the lane.
    /// The Q4_0 tail (4 vectors: b3 b2 | b1 b0 w1 w0) takes stage 0 and its own last stage.
    /// </summary>
    internal static int[] BuildTables()
    {
        var t = GC.AllocateArray<int>(12 * 16, pinned: true);
        for (int l = 0; l < 16; l++)
        {
            for (int p = 0; p < 2; p++)
            {
                // Exchange stages: output vector with bit s = p takes lane l from source (l's bit s) at lane l with bit s := p.
                t[(0 + p) * 16 + l] = ((l & 1) * 16) + ((l & ~1) | p);
                t[(2 + p) * 16 + l] = (((l >> 1) & 1) * 16) + ((l & ~2) | (p << 1));
                // Q8_0 last stage, words 4p..4p+3: block l sits in vector (b3, w1 w0) at lane (b0, w2, b2, b1).
                t[(4 + p) * 16 + l] = ((l >> 3) * 16) + ((l & 1) << 3) + (p << 2) + (((l >> 2) & 1) << 1) + ((l >> 1) & 1);
                // Q4_0 tail last stage, words 2p, 2p+1: block l sits in vector (b3, w0) at lane (b1, b0, w1, b2).
                t[(6 + p) * 16 + l] = ((l >> 3) * 16) + (((l >> 1) & 1) << 3) + ((l & 1) << 2) + (p << 1) + ((l >> 2) & 1);
            }
            t[(8 * 16) + l] = unchecked((int)0x80808080);
            t[(9 * 16) + l] = 0x0F0F0F0F;
            // Neighbouring-pair sums of two vectors: even and odd lanes of the 32.
            t[(10 * 16) + l] = 2 * l;
            t[(11 * 16) + l] = (2 * l) + 1;
        }
        return t;
    }
}
