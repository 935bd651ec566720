namespace QuickSilver.Engine.Kernels;

/// <summary>
/// <c>Y = A · Wᵀ</c> for a <see cref="BitPlaneMatrix"/> W (R×C) and activations A (N×C), each activation row read at its
/// own width (8, 4 or 2 bits): rows of a prefill with mixed precisions run in one pass, each through its width's kernel.
/// Weight rows are split into contiguous ranges, one per thread; a tile of weight rows is reused from cache against every
/// activation row, so the bytes that come from memory are those of the widest row in the pass, and a pass whose rows
/// are all at 4 (2) bits never touches the lower planes.
/// </summary>
public static unsafe class PlaneMatMul
{
    private const int RowTile = 16;

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
        ArgumentNullException.ThrowIfNull(activations);
        if (weights.Columns != activations.Columns)
            throw new ArgumentException($"Weights have {weights.Columns} columns but activations {activations.Columns}.", nameof(activations));
        if (rowBits.Length != activations.Rows) throw new ArgumentException($"Need a width for each of {activations.Rows} rows, got {rowBits.Length}.", nameof(rowBits));
        foreach (int b in rowBits) BitPlaneMatrix.CheckBits(b);
        if (outputOffset < 0 || outputOffset + weights.Rows > outputStride)
            throw new ArgumentOutOfRangeException(nameof(outputOffset), $"Columns [{outputOffset}, {outputOffset + weights.Rows}) do not fit rows of {outputStride}.");
        long needed = ((long)Math.Max(0, activations.Rows - 1) * outputStride) + outputOffset + weights.Rows;
        if (output.Length < needed) throw new ArgumentException($"Output needs {needed} values, got {output.Length}.", nameof(output));
        if (!KernelSettings.IsSupported(isa)) throw new PlatformNotSupportedException($"Kernel path {isa} is not supported on this CPU.");
        int[] bits = rowBits.ToArray();
        fixed (float* y = output)
        {
            var job = new Job(weights, activations, bits, y + outputOffset, isa, outputStride);
            int parts = Math.Clamp(Math.Min(threads, (int)(((long)weights.Rows * weights.Columns * Math.Max(1, activations.Rows)) / 65536)), 1, weights.Rows);
            if (parts == 1)
            {
                job.Run(0, weights.Rows);
                return;
            }
            int rows = weights.Rows;
            Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, p =>
                job.Run((int)((long)rows * p / parts), (int)((long)rows * (p + 1) / parts)));
        }
    }

    private readonly struct Job(BitPlaneMatrix weights, PlaneActivations activations, int[] bits, float* output, KernelIsa isa, int outRows)
    {
        public void Run(int rowStart, int rowEnd)
        {
            int nsb = weights.SuperBlocksPerRow, pnb = weights.PaddedBlocksPerRow, quarter = weights.QuarterRowBytes, halfBytes = weights.HalfRowBytes;
            int n = activations.Rows, columns = activations.PaddedColumns;
            fixed (byte* top0 = weights.Top)
            fixed (byte* middle0 = weights.Middle)
            fixed (byte* low0 = weights.Low)
            fixed (ushort* ws0 = weights.Scales)
            fixed (sbyte* a = activations.Codes)
            fixed (float* sa = activations.Scales)
            fixed (int* sums = activations.Sums)
            {
                long first = weights.FirstRow;
                byte* top = top0 + (first * quarter), middle = middle0 + (first * quarter), low = low0 + (first * halfBytes);
                ushort* ws = ws0 + (first * pnb);
                for (int tile = rowStart; tile < rowEnd; tile += RowTile)
                {
                    int tileEnd = Math.Min(rowEnd, tile + RowTile);
                    for (int t = 0; t < n; t++)
                    {
                        long aOffset = (long)t * columns;
                        int sOffset = t * pnb, b = bits[t];
                        float* y = output + ((long)t * outRows);
                        for (int r = tile; r < tileEnd; r++)
                        {
                            y[r] = PlaneDot.Dot(isa, b, top + ((long)r * quarter), middle + ((long)r * quarter), low + ((long)r * halfBytes),
                                ws + ((long)r * pnb), a + aOffset, sa + sOffset, sums + (sOffset * 8), nsb);
                        }
                    }
                }
            }
        }
    }
}
