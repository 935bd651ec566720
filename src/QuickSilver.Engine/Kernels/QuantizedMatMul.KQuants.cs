using System.Runtime.Intrinsics;

namespace QuickSilver.Engine.Kernels;

/// <summary>The 256-value block formats (k-quants, IQ4_XS) against <see cref="Q8KActivations"/>, threaded like the 32-value ones.</summary>
public static unsafe partial class QuantizedMatMul
{
    /// <summary>Multiplies k-quant or IQ4_XS weights on the current <see cref="KernelSettings"/> path and threads.</summary>
    public static void Multiply(QuantizedMatrix weights, Q8KActivations activations, Span<float> output) =>
        Multiply(weights, activations, output, KernelSettings.Isa, KernelSettings.Threads, weights?.Rows ?? 0, 0);

    /// <summary>
    /// <c>Y = A · Wᵀ</c> for 256-value block weights, into columns [<paramref name="outputOffset"/>, offset + R) of rows
    /// <paramref name="outputStride"/> wide.
    /// </summary>
    /// <exception cref="ArgumentException">Widths differ, the format is not a 256-value one, or the output is too short.</exception>
    /// <exception cref="PlatformNotSupportedException">The CPU cannot run <paramref name="isa"/>.</exception>
    public static void Multiply(QuantizedMatrix weights, Q8KActivations activations, Span<float> output, KernelIsa isa, int threads, int outputStride, int outputOffset)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(activations);
        if (!KQuantDot.Handles(weights.Type))
            throw new ArgumentException($"{weights.Type} weights multiply 32-value activations ({nameof(Q8Activations)}), not Q8_K ones.", nameof(activations));
        if (weights.Columns != activations.Columns)
            throw new ArgumentException($"Weights have {weights.Columns} columns but activations {activations.Columns}.", nameof(activations));
        if (outputOffset < 0 || outputOffset + weights.Rows > outputStride)
            throw new ArgumentOutOfRangeException(nameof(outputOffset), $"Columns [{outputOffset}, {outputOffset + weights.Rows}) do not fit rows of {outputStride}.");
        long needed = ((long)Math.Max(0, activations.Rows - 1) * outputStride) + outputOffset + weights.Rows;
        if (output.Length < needed) throw new ArgumentException($"Output needs {needed} values, got {output.Length}.", nameof(output));
        if (!KernelSettings.IsSupported(isa)) throw new PlatformNotSupportedException($"Kernel path {isa} is not supported on this CPU.");
        if (TryGemm(weights, activations, output, isa, threads, outputStride, outputOffset)) return;
        fixed (float* y = output)
        {
            var job = new KJob(weights, activations, y + outputOffset, isa, outputStride);
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

    private readonly struct KJob(QuantizedMatrix weights, Q8KActivations activations, float* output, KernelIsa isa, int outRows)
    {
        public void Run(int rowStart, int rowEnd)
        {
            int nb = weights.BlocksPerRow, rowBytes = weights.RowCodeBytes, n = activations.Rows, columns = weights.Columns;
            var type = weights.Type;
            fixed (byte* w0 = weights.Codes)
            fixed (sbyte* a = activations.CodesFor(type))
            fixed (float* sa = activations.Scales)
            fixed (short* sums = activations.Sums)
            {
                byte* w = w0 + ((long)weights.FirstRow * rowBytes);
                // Four activation rows per weight-row pass (the block's unpacking shared by the four): where they give each
                // token Dot's bits (Dot4IsExact) any product takes them; otherwise only a GEMM-sized call may, since below
                // GemmMinTokens every (row, token) must equal the token alone bit for bit.
                bool four = KQuantDot.HasDot4(type, isa) && (KQuantDot.Dot4IsExact(type, isa) || (n >= KernelSettings.GemmMinTokens && !t_perRowOnly));
                float* results = stackalloc float[4];
                for (int tile = rowStart; tile < rowEnd; tile += RowTile)
                {
                    int tileEnd = Math.Min(rowEnd, tile + RowTile);
                    int t = 0;
                    for (; four && t + 4 <= n; t += 4)
                    {
                        sbyte* at = a + ((long)t * columns);
                        for (int r = tile; r < tileEnd; r++)
                        {
                            KQuantDot.Dot4(type, w + ((long)r * rowBytes), at, columns, sa + (t * nb), sums + (t * nb * 16), nb, results);
                            for (int k = 0; k < 4; k++) output[((long)(t + k) * outRows) + r] = results[k];
                        }
                    }
                    bool rows4 = KQuantDot.HasRows4(type, isa);
                    for (; t < n; t++)
                    {
                        float* y = output + ((long)t * outRows);
                        sbyte* at = a + ((long)t * columns);
                        int r = tile;
                        // Four rows per call give each row Dot's bits (kq4), so any grouping keeps the per-row invariant.
                        for (; rows4 && r + 4 <= tileEnd; r += 4)
                            KQuantDot.Rows4(type, w + ((long)r * rowBytes), rowBytes, at, sa + (t * nb), sums + (t * nb * 16), nb).Store(y + r);
                        for (; r < tileEnd; r++)
                            y[r] = KQuantDot.Dot(type, isa, w + ((long)r * rowBytes), at, sa + (t * nb), sums + (t * nb * 16), nb);
                    }
                }
            }
        }
    }
}
