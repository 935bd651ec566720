using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// <c>Y = A · Wᵀ</c> for many activation rows (prefill): a register-blocked int8 GEMM on AVX-512 BW (vpmaddubsw into
/// int16, vpmaddwd into int32), or where the CPU has AVX-512 VNNI the same kernels with vpdpbusd as machine code
/// (<see cref="GemmVnniCode"/>: .NET 10 reaches vpdpbusd only through AVX-VNNI and AVX10, which a Zen 4 does not report).
/// Threads split the weight rows in tiles of 4; each thread
/// unpacks a tile once per chunk of tokens (<see cref="GemmWeightRows"/>) and runs it against every 16-token group of the chunk, whose
/// activations (<see cref="GemmActivations"/>) stay in L2. Results are bit-identical per (row, token) whatever the number
/// of tokens, the chunking or the threads (see the micro-kernels); against the per-row kernels they differ by float
/// rounding only (same integer block dots, another float summation order).
/// </summary>
internal static unsafe partial class QuantizedGemm
{
    // Activation bytes of a token chunk kept in L2 while the row tiles stream past.
    private const int ChunkBytes = 384 * 1024;

    [ThreadStatic] private static GemmWeightRows? t_rows;

    /// <summary>Whether this CPU has the instructions (AVX-512 F and BW).</summary>
    public static bool IsSupported => Avx512BW.IsSupported && Avx512F.IsSupported;

    /// <summary>
    /// Whether the micro-kernels are the AVX-512 VNNI machine code (default: where <see cref="GemmVnniCode.IsAvailable"/>);
    /// false runs the managed ones. Both give the same bits; the switch is for tests and benchmarks.
    /// </summary>
    internal static bool Vnni
    {
        get => s_vnni;
        set => s_vnni = value && GemmVnniCode.IsAvailable;
    }

    private static bool s_vnni = GemmVnniCode.IsAvailable;

    /// <summary>Whether <paramref name="type"/> has a GEMM path.</summary>
    public static bool Handles(GgufTensorType type) =>
        type is GgufTensorType.Q8_0 or GgufTensorType.Q4_0 or GgufTensorType.Q4_K or GgufTensorType.Q5_K or GgufTensorType.Q6_K;

    /// <summary>
    /// Multiplies into <paramref name="output"/> (token t's row at <c>t·<paramref name="outputStride"/></c>, row r at +r).
    /// The activations' block size must be the format's (32 for Q8_0/Q4_0, 256 for the k-quants).
    /// </summary>
    public static void Multiply(QuantizedMatrix weights, GemmActivations activations, float* output, int outputStride, int threads)
    {
        if (!Handles(weights.Type)) throw new NotSupportedException($"{weights.Type} has no GEMM path.");
        if (activations.BlockValues != weights.BlockValues || activations.Columns != weights.Columns)
            throw new ArgumentException($"{weights.Type} [{weights.Rows}, {weights.Columns}] needs {weights.BlockValues}-value activations of width {weights.Columns}.", nameof(activations));
        int tiles = (weights.Rows + GemmWeightRows.Rows - 1) / GemmWeightRows.Rows;
        int parts = Math.Clamp(threads, 1, tiles);
        var job = new Job(weights, activations, output, outputStride);
        if (parts == 1)
        {
            job.Run(0, tiles);
            return;
        }
        PoolFork.For(parts, p =>
            job.Run((int)((long)tiles * p / parts), (int)((long)tiles * (p + 1) / parts)));
    }

    /// <summary>
    /// A full tile's result[r·16 + t] (4 rows × 16 tokens) to y[t·stride + r]: a 4×4 transpose per 128-bit lane in
    /// registers, then one 4-float store per token, instead of 64 scalar copies.
    /// </summary>
    private static void StoreTransposed(float* result, float* y, int stride)
    {
        var f0 = Avx512F.LoadVector512(result);
        var f1 = Avx512F.LoadVector512(result + 16);
        var f2 = Avx512F.LoadVector512(result + 32);
        var f3 = Avx512F.LoadVector512(result + 48);
        // Per lane L (tokens 4L..4L+3): a = (r0, r1) of tokens 4L, 4L+1; b = (r0, r1) of 4L+2, 4L+3; c, d likewise for r2, r3.
        var a = Avx512F.UnpackLow(f0, f1).AsDouble();
        var b = Avx512F.UnpackHigh(f0, f1).AsDouble();
        var c = Avx512F.UnpackLow(f2, f3).AsDouble();
        var d = Avx512F.UnpackHigh(f2, f3).AsDouble();
        var u0 = Avx512F.UnpackLow(a, c).AsSingle();  // token 4L: r0 r1 r2 r3
        var u1 = Avx512F.UnpackHigh(a, c).AsSingle(); // token 4L + 1
        var u2 = Avx512F.UnpackLow(b, d).AsSingle();  // token 4L + 2
        var u3 = Avx512F.UnpackHigh(b, d).AsSingle(); // token 4L + 3
        long s = stride;
        Sse.Store(y, Avx512F.ExtractVector128(u0, 0));
        Sse.Store(y + s, Avx512F.ExtractVector128(u1, 0));
        Sse.Store(y + (2 * s), Avx512F.ExtractVector128(u2, 0));
        Sse.Store(y + (3 * s), Avx512F.ExtractVector128(u3, 0));
        Sse.Store(y + (4 * s), Avx512F.ExtractVector128(u0, 1));
        Sse.Store(y + (5 * s), Avx512F.ExtractVector128(u1, 1));
        Sse.Store(y + (6 * s), Avx512F.ExtractVector128(u2, 1));
        Sse.Store(y + (7 * s), Avx512F.ExtractVector128(u3, 1));
        Sse.Store(y + (8 * s), Avx512F.ExtractVector128(u0, 2));
        Sse.Store(y + (9 * s), Avx512F.ExtractVector128(u1, 2));
        Sse.Store(y + (10 * s), Avx512F.ExtractVector128(u2, 2));
        Sse.Store(y + (11 * s), Avx512F.ExtractVector128(u3, 2));
        Sse.Store(y + (12 * s), Avx512F.ExtractVector128(u0, 3));
        Sse.Store(y + (13 * s), Avx512F.ExtractVector128(u1, 3));
        Sse.Store(y + (14 * s), Avx512F.ExtractVector128(u2, 3));
        Sse.Store(y + (15 * s), Avx512F.ExtractVector128(u3, 3));
    }

    private readonly struct Job(QuantizedMatrix weights, GemmActivations activations, float* output, int stride)
    {
        public void Run(int firstTile, int endTile)
        {
            var rows = t_rows ??= new GemmWeightRows();
            int groups = activations.Groups, n = activations.Rows, chunk = Math.Max(1, ChunkBytes / activations.GroupCodeBytes);
            var type = weights.Type;
            bool vnni = Vnni;
            bool blocks32 = type is GgufTensorType.Q8_0 or GgufTensorType.Q4_0;
            bool q8 = type == GgufTensorType.Q8_0;
            int words = type switch { GgufTensorType.Q4_K => 8, GgufTensorType.Q5_K => 4, _ => 2 }; // int16 sums that cannot saturate
            float* result = stackalloc float[GemmWeightRows.Rows * GemmActivations.GroupTokens];
            fixed (byte* a0 = activations.Codes)
            fixed (float* sa0 = activations.Scales)
            fixed (int* sums0 = activations.Sums)
            {
                for (int g0 = 0; g0 < groups; g0 += chunk)
                {
                    int g1 = Math.Min(groups, g0 + chunk);
                    for (int tile = firstTile; tile < endTile; tile++)
                    {
                        int r0 = tile * GemmWeightRows.Rows;
                        rows.Load(weights, r0, vnni);
                        int nb = rows.Blocks, rowCount = Math.Min(GemmWeightRows.Rows, weights.Rows - r0);
                        fixed (byte* codes = rows.Codes)
                        fixed (int* multipliers = rows.Multipliers)
                        fixed (int* pairs = rows.Pairs)
                        fixed (float* d = rows.D)
                        fixed (float* dmin = rows.NegativeDMin)
                        {
                            byte* w0 = rows.Row(codes, 0), w1 = rows.Row(codes, 1), w2 = rows.Row(codes, 2), w3 = rows.Row(codes, 3);
                            for (int g = g0; g < g1; g++)
                            {
                                byte* a = a0 + ((long)g * activations.GroupCodeBytes);
                                float* sa = sa0 + ((long)g * activations.GroupScales);
                                int* sums = sums0 + ((long)g * activations.GroupSums);
                                if (vnni && blocks32) GemmVnniCode.Blocks32(w0, w1, w2, w3, q8 ? -128 : -8, d, a, sa, sums, nb, result);
                                else if (vnni) GemmVnniCode.KBlocks(w0, w1, w2, w3, multipliers, rows.Units, pairs, type == GgufTensorType.Q6_K ? 1 : 0, d, dmin, nb,
                                    type == GgufTensorType.Q6_K ? 4 : 8, type == GgufTensorType.Q4_K ? 1 : 2, a, sa, sums, result);
                                else if (blocks32) Blocks32(w0, w1, w2, w3, q8 ? 2 : 1, q8 ? -128 : -8, d, a, sa, sums, nb, result);
                                else KBlocks(w0, w1, w2, w3, multipliers, rows.Units, pairs, type == GgufTensorType.Q6_K, d, dmin, nb, words, a, sa, sums, result);
                                int t0 = g * GemmActivations.GroupTokens, tokens = Math.Min(GemmActivations.GroupTokens, n - t0);
                                if (rowCount == GemmWeightRows.Rows && tokens == GemmActivations.GroupTokens)
                                {
                                    StoreTransposed(result, output + ((long)t0 * stride) + r0, stride);
                                    continue;
                                }
                                for (int t = 0; t < tokens; t++)
                                {
                                    float* y = output + ((long)(t0 + t) * stride) + r0;
                                    for (int r = 0; r < rowCount; r++) y[r] = result[(r * GemmActivations.GroupTokens) + t];
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
