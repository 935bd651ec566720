using System.Runtime.Intrinsics;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// <c>Y = A · Wᵀ</c> for a <see cref="QuantizedMatrix"/> W (R×C) and quantized activations A (N×C), giving Y (N×R) in
/// float32. Rows of W are split into contiguous ranges, one per thread, so each thread streams its own part of the
/// weights once; with several activation rows (prefill, batched decode) a small tile of weight rows is reused from
/// cache against every activation row before moving on.
/// </summary>
public static unsafe partial class QuantizedMatMul
{
    private const int RowTile = 16;

    /// <summary>Multiplies on the current <see cref="KernelSettings"/> path and threads.</summary>
    public static void Multiply(QuantizedMatrix weights, Q8Activations activations, Span<float> output) =>
        Multiply(weights, activations, output, KernelSettings.Isa, KernelSettings.Threads);

    /// <summary>Multiplies on a given path with a given number of threads.</summary>
    /// <exception cref="ArgumentException">Widths differ or the output is too short.</exception>
    /// <exception cref="PlatformNotSupportedException">The CPU cannot run <paramref name="isa"/>.</exception>
    public static void Multiply(QuantizedMatrix weights, Q8Activations activations, Span<float> output, KernelIsa isa, int threads) =>
        Multiply(weights, activations, output, isa, threads, outputStride: weights.Rows, outputOffset: 0);

    /// <summary>
    /// Multiplies into columns [<paramref name="outputOffset"/>, offset + R) of an output whose rows are
    /// <paramref name="outputStride"/> wide: one part of a row-stacked projection (q|k|v) writes its slice in place.
    /// </summary>
    public static void Multiply(QuantizedMatrix weights, Q8Activations activations, Span<float> output, KernelIsa isa, int threads, int outputStride, int outputOffset)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(activations);
        if (weights.Columns != activations.Columns)
            throw new ArgumentException($"Weights have {weights.Columns} columns but activations {activations.Columns}.", nameof(activations));
        if (outputOffset < 0 || outputOffset + weights.Rows > outputStride)
            throw new ArgumentOutOfRangeException(nameof(outputOffset), $"Columns [{outputOffset}, {outputOffset + weights.Rows}) do not fit rows of {outputStride}.");
        long needed = ((long)Math.Max(0, activations.Rows - 1) * outputStride) + outputOffset + weights.Rows;
        if (output.Length < needed) throw new ArgumentException($"Output needs {needed} values, got {output.Length}.", nameof(output));
        if (!KernelSettings.IsSupported(isa)) throw new PlatformNotSupportedException($"Kernel path {isa} is not supported on this CPU.");
        if (!QuantizedMatrix.IsSplit(weights.Type) && !LegacyBlockDot.Handles(weights.Type))
            throw new ArgumentException($"{weights.Type} weights multiply 256-value Q8_K activations ({nameof(Q8KActivations)}), not 32-value ones.", nameof(activations));
        // GEMM dispatch (kpre): activations.Rows >= KernelSettings.GemmMinTokens (one sequence's segment) goes to the
        // matrix-matrix kernel here; fewer rows stay on the per-row decode kernel below.
        if (TryGemm(weights, activations, output, isa, threads, outputStride, outputOffset)) return;
        fixed (float* y = output)
        {
            var job = new Job(weights, activations, y + outputOffset, isa, outputStride);
            int parts = Math.Clamp(Math.Min(threads, (int)(((long)weights.Rows * weights.Columns * Math.Max(1, activations.Rows)) / 65536)), 1, weights.Rows);
            if (parts == 1)
            {
                job.Run(0, weights.Rows);
                return;
            }
            int rows = weights.Rows;
            RowFork.For(parts, p => job.Run((int)((long)rows * p / parts), (int)((long)rows * (p + 1) / parts)));
        }
    }

    /// <summary>
    /// The exact variant: float32 activations X (N×C) against blocks decoded on the fly (see <see cref="FloatBlockDot"/>);
    /// <paramref name="simd"/> false runs the scalar reference.
    /// </summary>
    public static void MultiplyExact(QuantizedMatrix weights, ReadOnlySpan<float> activations, int count, Span<float> output, bool simd, int threads) =>
        MultiplyExact(weights, activations, count, output, simd, threads, weights.Rows, 0);

    /// <summary>The exact variant writing columns [<paramref name="outputOffset"/>, offset + R) of rows <paramref name="outputStride"/> wide.</summary>
    public static void MultiplyExact(QuantizedMatrix weights, ReadOnlySpan<float> activations, int count, Span<float> output, bool simd, int threads, int outputStride, int outputOffset)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (activations.Length < (long)count * weights.Columns) throw new ArgumentException($"Activations need {(long)count * weights.Columns} values.", nameof(activations));
        if (outputOffset < 0 || outputOffset + weights.Rows > outputStride)
            throw new ArgumentOutOfRangeException(nameof(outputOffset), $"Columns [{outputOffset}, {outputOffset + weights.Rows}) do not fit rows of {outputStride}.");
        if (output.Length < ((long)Math.Max(0, count - 1) * outputStride) + outputOffset + weights.Rows) throw new ArgumentException("Output is too short.", nameof(output));
        fixed (float* x = activations)
        fixed (float* y = output)
        {
            var job = new ExactJob(weights, x, count, y + outputOffset, simd, outputStride);
            int parts = Math.Clamp(Math.Min(threads, (int)(((long)weights.Rows * weights.Columns * Math.Max(1, count)) / 65536)), 1, weights.Rows);
            if (parts == 1)
            {
                job.Run(0, weights.Rows);
                return;
            }
            int rows = weights.Rows;
            PoolFork.For(parts, p =>
                job.Run((int)((long)rows * p / parts), (int)((long)rows * (p + 1) / parts)));
        }
    }

    private readonly struct ExactJob(QuantizedMatrix weights, float* x, int n, float* output, bool simd, int outRows)
    {
        public void Run(int rowStart, int rowEnd)
        {
            int nb = weights.BlocksPerRow, rowBytes = weights.RowCodeBytes, columns = weights.Columns;
            if (!QuantizedMatrix.IsSplit(weights.Type))
            {
                RunDecoded(rowStart, rowEnd);
                return;
            }
            bool q8 = weights.Type == GgufTensorType.Q8_0;
            fixed (byte* w0 = weights.Codes)
            fixed (ushort* ws0 = weights.Scales)
            {
                byte* w = w0 + ((long)weights.FirstRow * rowBytes);
                ushort* ws = ws0 + ((long)weights.FirstRow * nb);
                for (int tile = rowStart; tile < rowEnd; tile += RowTile)
                {
                    int tileEnd = Math.Min(rowEnd, tile + RowTile);
                    for (int t = 0; t < n; t++)
                    {
                        float* xt = x + ((long)t * columns);
                        float* y = output + ((long)t * outRows);
                        for (int r = tile; r < tileEnd; r++)
                        {
                            y[r] = q8
                                ? FloatBlockDot.Q8_0(simd, w + ((long)r * rowBytes), ws + ((long)r * nb), xt, nb)
                                : FloatBlockDot.Q4_0(simd, w + ((long)r * rowBytes), ws + ((long)r * nb), xt, nb);
                        }
                    }
                }
            }
        }

        // Formats kept in GGUF layout: each row decoded once by the reference decoder, then dotted with every activation row.
        private void RunDecoded(int rowStart, int rowEnd)
        {
            int columns = weights.Columns;
            if (weights.Type is GgufTensorType.F16 or GgufTensorType.BF16)
            {
                RunHalf(rowStart, rowEnd);
                return;
            }
            var row = new float[columns];
            for (int r = rowStart; r < rowEnd; r++)
            {
                weights.DequantizeRow(r, row); // the stored layout back to GGUF order where it differs (Q4_K)
                fixed (float* wr = row)
                {
                    for (int t = 0; t < n; t++) output[((long)t * outRows) + r] = FloatDot(simd, wr, x + ((long)t * columns), columns);
                }
            }
        }

        // 16-bit weights widen in registers; four rows share each activation load.
        private void RunHalf(int rowStart, int rowEnd)
        {
            int columns = weights.Columns;
            bool bfloat16 = weights.Type == GgufTensorType.BF16;
            var isa = simd ? KernelSettings.Isa : KernelIsa.Scalar;
            float* four = stackalloc float[4];
            fixed (byte* w0 = weights.Codes)
            {
                ushort* w = (ushort*)w0 + ((long)weights.FirstRow * columns);
                int r = rowStart;
                for (; r + 4 <= rowEnd; r += 4)
                {
                    for (int t = 0; t < n; t++)
                    {
                        HalfPrecisionDot.Rows4(isa, bfloat16, w + ((long)r * columns), columns, x + ((long)t * columns), columns, four);
                        float* y = output + ((long)t * outRows) + r;
                        y[0] = four[0]; y[1] = four[1]; y[2] = four[2]; y[3] = four[3];
                    }
                }
                for (; r < rowEnd; r++)
                    for (int t = 0; t < n; t++)
                        output[((long)t * outRows) + r] = HalfPrecisionDot.Row(isa, bfloat16, w + ((long)r * columns), x + ((long)t * columns), columns);
            }
        }
    }

    /// <summary>Σ w·x over <paramref name="count"/> floats.</summary>
    internal static float FloatDot(bool simd, float* w, float* x, int count)
    {
        int i = 0;
        float sum = 0;
        if (simd && Vector256.IsHardwareAccelerated)
        {
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= count; i += 8) acc += Vector256.Load(w + i) * Vector256.Load(x + i);
            sum = Vector256.Sum(acc);
        }
        for (; i < count; i++) sum += w[i] * x[i];
        return sum;
    }

    /// <summary>Whether <paramref name="type"/> on <paramref name="isa"/> takes <see cref="DecodeMatVec"/>.</summary>
    internal static bool UsesDecodeKernel(GgufTensorType type, KernelIsa isa) =>
        isa == KernelIsa.Avx512 && KernelSettings.DecodeKernel && DecodeMatVec.IsSupported && DecodeMatVec.Handles(type);

    private readonly struct Job(QuantizedMatrix weights, Q8Activations activations, float* output, KernelIsa isa, int outRows)
    {
        public void Run(int rowStart, int rowEnd)
        {
            if (UsesDecodeKernel(weights.Type, isa))
            {
                // Several activation rows share the weight-only work (bit-identical per row to the one-row kernel); the
                // VNNI machine code does so for any number of rows and gives the managed kernels' bits.
                if (DecodeVnniCode.Handles(weights.Type) && (activations.Rows > 1 ? KernelSettings.MultiRowDecode : DecodeVnniCode.OneRow)) DecodeVnniCode.Run(weights, activations, output, outRows, rowStart, rowEnd);
                else if (activations.Rows > 1 && KernelSettings.MultiRowDecode && DecodeMatVecRows.Handles(weights.Type)) DecodeMatVecRows.Run(weights, activations, output, outRows, rowStart, rowEnd);
                else DecodeMatVec.Run(weights, activations, output, outRows, rowStart, rowEnd);
                return;
            }
            int nb = weights.BlocksPerRow, rowBytes = weights.RowCodeBytes, n = activations.Rows, columns = weights.Columns;
            bool q8 = weights.Type == GgufTensorType.Q8_0, q4 = weights.Type == GgufTensorType.Q4_0;
            fixed (byte* w0 = weights.Codes)
            fixed (ushort* ws0 = weights.Scales)
            fixed (sbyte* a = activations.Codes)
            fixed (sbyte* negated = activations.Negated)
            fixed (float* sa = activations.Scales)
            fixed (int* offsets = activations.Q4Offsets)
            {
                byte* w = w0 + ((long)weights.FirstRow * rowBytes);
                ushort* ws = ws0 + ((long)weights.FirstRow * nb);
                for (int tile = rowStart; tile < rowEnd; tile += RowTile)
                {
                    int tileEnd = Math.Min(rowEnd, tile + RowTile);
                    for (int t = 0; t < n; t++)
                    {
                        long aOffset = (long)t * columns;
                        int sOffset = t * nb;
                        float* y = output + ((long)t * outRows);
                        for (int r = tile; r < tileEnd; r++)
                        {
                            y[r] = q8 ? BlockDot.Q8_0(isa, w + ((long)r * rowBytes), ws + ((long)r * nb), a + aOffset, negated + aOffset, sa + sOffset, nb)
                                : q4 ? BlockDot.Q4_0(isa, w + ((long)r * rowBytes), ws + ((long)r * nb), a + aOffset, offsets + (sOffset * 8), sa + sOffset, nb)
                                : LegacyBlockDot.Dot(weights.Type, isa, w + ((long)r * rowBytes), a + aOffset, sa + sOffset, offsets + (sOffset * 8), nb);
                        }
                    }
                }
            }
        }
    }
}
