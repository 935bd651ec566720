using System.Runtime.Intrinsics;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// <c>Y = A · Wᵀ</c> for a <see cref="BitPlaneMatrix"/> W (R×C), or several row-stacked ones (q|k|v), and activations A
/// (N×C), each activation row read at its own width (8, 4 or 2 bits): rows of a prefill with mixed precisions run in one
/// pass, each through its width's kernel. The stacked rows are split into one contiguous range per thread and the
/// product forks once for the whole stack; every row of a stack has the same bytes, so equal rows are equal bytes. A
/// tile of weight rows is reused from cache against every activation row, so the bytes that come from memory are those
/// of the widest row in the pass, and a pass whose rows are all at 4 (2) bits never touches the lower planes. Each
/// (weight row, activation row) result is computed alone, so it does not depend on N, the row's place or the threads.
/// </summary>
public static unsafe class PlaneMatMul
{
    private const int RowTile = 16;

    /// <summary>
    /// Whether the AVX-512 path takes several weight rows per kernel call (eight at 4 and 2 bits, four at 8), sharing the
    /// activation loads and the lane reduction (default true). Each row's result is bit-identical either way; false calls the kernel row by row, for comparison in
    /// benchmarks.
    /// </summary>
    public static bool FourRowsPerCall { get; set; } = true;

    /// <summary>
    /// Multiplies into columns [<paramref name="outputOffset"/>, offset + R) of an output whose rows are
    /// <paramref name="outputStride"/> wide.
    /// </summary>
    /// <param name="rowBits">Per activation row, the width to read the weights at (8, 4 or 2).</param>
    /// <exception cref="ArgumentException">Widths differ, the output is too short, or <paramref name="rowBits"/> has the wrong length or a width other than 8, 4, 2.</exception>
    /// <exception cref="PlatformNotSupportedException">The CPU cannot run <paramref name="isa"/>.</exception>
    public static void Multiply(BitPlaneMatrix weights, PlaneActivations activations, ReadOnlySpan<int> rowBits, Span<float> output,
        KernelIsa isa, int threads, int outputStride, int outputOffset)
    {
        ArgumentNullException.ThrowIfNull(weights);
        Multiply([weights], activations, rowBits, output, isa, threads, outputStride, outputOffset);
    }

    /// <summary>
    /// Multiplies row-stacked <paramref name="parts"/> (same columns) into columns [<paramref name="outputOffset"/>,
    /// offset + ΣR) of an output whose rows are <paramref name="outputStride"/> wide, forking once for all parts.
    /// </summary>
    /// <param name="rowBits">Per activation row, the width to read the weights at (8, 4 or 2).</param>
    /// <exception cref="ArgumentException">Parts or widths differ, the output is too short, or <paramref name="rowBits"/> has the wrong length or a width other than 8, 4, 2.</exception>
    /// <exception cref="PlatformNotSupportedException">The CPU cannot run <paramref name="isa"/>.</exception>
    public static void Multiply(IReadOnlyList<BitPlaneMatrix> parts, PlaneActivations activations, ReadOnlySpan<int> rowBits, Span<float> output,
        KernelIsa isa, int threads, int outputStride, int outputOffset)
    {
        ArgumentNullException.ThrowIfNull(parts);
        ArgumentNullException.ThrowIfNull(activations);
        if (parts.Count == 0) throw new ArgumentException("Need at least one weight part.", nameof(parts));
        int totalRows = 0;
        foreach (var part in parts)
        {
            ArgumentNullException.ThrowIfNull(part, nameof(parts));
            if (part.Columns != activations.Columns)
                throw new ArgumentException($"Weights have {part.Columns} columns but activations {activations.Columns}.", nameof(activations));
            totalRows += part.Rows;
        }
        if (rowBits.Length != activations.Rows) throw new ArgumentException($"Need a width for each of {activations.Rows} rows, got {rowBits.Length}.", nameof(rowBits));
        foreach (int b in rowBits) BitPlaneMatrix.CheckBits(b);
        if (outputOffset < 0 || outputOffset + totalRows > outputStride)
            throw new ArgumentOutOfRangeException(nameof(outputOffset), $"Columns [{outputOffset}, {outputOffset + totalRows}) do not fit rows of {outputStride}.");
        long needed = ((long)Math.Max(0, activations.Rows - 1) * outputStride) + outputOffset + totalRows;
        if (output.Length < needed) throw new ArgumentException($"Output needs {needed} values, got {output.Length}.", nameof(output));
        if (!KernelSettings.IsSupported(isa)) throw new PlatformNotSupportedException($"Kernel path {isa} is not supported on this CPU.");
        int[] bits = rowBits.ToArray();
        fixed (float* y = output)
        {
            float* outputAt = y + outputOffset;
            int shares = Math.Clamp(Math.Min(threads, (int)(((long)totalRows * activations.Columns * Math.Max(1, activations.Rows)) / 65536)), 1, totalRows);
            void Run(int share)
            {
                int from = (int)((long)totalRows * share / shares), to = (int)((long)totalRows * (share + 1) / shares), at = 0;
                foreach (var part in parts)
                {
                    int lo = Math.Max(from, at), hi = Math.Min(to, at + part.Rows);
                    if (lo < hi) new Job(part, activations, bits, outputAt + at, isa, outputStride).Run(lo - at, hi - at);
                    at += part.Rows;
                }
            }
            if (shares == 1) Run(0);
            else RowFork.For(shares, Run);
        }
    }

    private readonly struct Job(BitPlaneMatrix weights, PlaneActivations activations, int[] bits, float* output, KernelIsa isa, int outRows)
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public void Run(int rowStart, int rowEnd)
        {
            int nsb = weights.SuperBlocksPerRow, pnb = weights.PaddedBlocksPerRow, quarter = weights.QuarterRowBytes, halfBytes = weights.HalfRowBytes;
            int n = activations.Rows, columns = activations.PaddedColumns, stride = activations.BlockStride;
            bool reads2 = Array.IndexOf(bits, 2) >= 0, finite = weights.FiniteScales, fourRows = FourRowsPerCall;
            // Eight rows per call only for rows of whole 16-block steps: with a tail's eight activation vectors on top of
            // eight accumulators the kernel spills (the 2816-column down projection ran 10–20 % slower in cache than four rows).
            bool wholeSteps = nsb % 4 == 0;
            fixed (byte* top0 = reads2 ? weights.Top : null)
            fixed (byte* high0 = weights.High)
            fixed (byte* low0 = weights.Low)
            fixed (ushort* ws0 = weights.Scales)
            fixed (sbyte* a = activations.Codes)
            fixed (float* sa = activations.Scales)
            fixed (int* offsets8 = activations.Offsets8)
            fixed (int* offsets4 = activations.Offsets4)
            fixed (int* offsets2 = activations.Offsets2)
            {
                long first = weights.FirstRow;
                byte* top = top0 == null ? null : top0 + (first * quarter);
                byte* high = high0 + (first * halfBytes), low = low0 + (first * halfBytes);
                ushort* ws = ws0 + (first * pnb);
                for (int tile = rowStart; tile < rowEnd; tile += RowTile)
                {
                    int tileEnd = Math.Min(rowEnd, tile + RowTile);
                    for (int t = 0; t < n; t++)
                    {
                        long aOffset = (long)t * columns;
                        int sOffset = t * stride, b = bits[t];
                        int* offsets = (b == 8 ? offsets8 : b == 4 ? offsets4 : offsets2) + sOffset;
                        float* y = output + ((long)t * outRows);
                        int r = tile;
                        // Eight (narrow widths), then four rows per call on the AVX-512 path: each result is the one the row gets alone (PlaneDot.Dot8/Dot4).
                        if (isa == KernelIsa.Avx512 && fourRows)
                        {
                            for (; b != 8 && wholeSteps && r + 8 <= tileEnd; r += 8)
                            {
                                PlaneDot.Dot8(b, top + ((long)r * quarter), high + ((long)r * halfBytes), low + ((long)r * halfBytes), ws + ((long)r * pnb),
                                    quarter, halfBytes, pnb, a + aOffset, sa + sOffset, offsets, nsb, finite, y + r);
                            }
                            for (; r + 4 <= tileEnd; r += 4)
                            {
                                PlaneDot.Dot4(b, top + ((long)r * quarter), high + ((long)r * halfBytes), low + ((long)r * halfBytes), ws + ((long)r * pnb),
                                    quarter, halfBytes, pnb, a + aOffset, sa + sOffset, offsets, nsb, finite).Store(y + r);
                            }
                        }
                        for (; r < tileEnd; r++)
                        {
                            y[r] = PlaneDot.Dot(isa, b, top + ((long)r * quarter), high + ((long)r * halfBytes), low + ((long)r * halfBytes),
                                ws + ((long)r * pnb), a + aOffset, sa + sOffset, offsets, nsb, finite);
                        }
                    }
                }
            }
        }
    }
}
