using System.Runtime.Intrinsics;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// <c>y = W·x</c> for a float32 matrix W (rows × columns, row-major, e.g. a libtorch weight's storage) and one activation
/// row: the decode product of a dense weight without a libtorch call. Rows are split into contiguous ranges, one per
/// thread, so each thread streams its own part of W once. Every dot has one order, <see cref="ProductDot"/>'s, in the one-row
/// and the multi-row products alike (see FloatMatVec.Tiles.cs). Tested against <see cref="RowOpsReference.MatVec"/>.
/// </summary>
public static unsafe partial class FloatMatVec
{
    /// <summary>Weight values below which a product runs on the calling thread alone (a fork costs more than it saves).</summary>
    public const long ParallelThreshold = 1 << 16;

    /// <summary>Multiplies rows [0, <paramref name="rows"/>) of <paramref name="weights"/> by <paramref name="x"/> into <paramref name="y"/>.</summary>
    /// <exception cref="ArgumentException">The spans are shorter than the shape says.</exception>
    public static void Multiply(ReadOnlySpan<float> weights, int rows, int columns, ReadOnlySpan<float> x, Span<float> y, int threads)
    {
        if (weights.Length < (long)rows * columns) throw new ArgumentException($"Weights need {(long)rows * columns} values, got {weights.Length}.", nameof(weights));
        fixed (float* w = weights) Multiply(w, rows, columns, x, y, threads);
    }

    /// <summary>Multiplies a matrix given by pointer (it must hold rows·columns values and stay put during the call).</summary>
    /// <exception cref="ArgumentException">The activation or output span is too short.</exception>
    public static void Multiply(float* weights, int rows, int columns, ReadOnlySpan<float> x, Span<float> y, int threads)
    {
        if (x.Length < columns) throw new ArgumentException($"Activations need {columns} values, got {x.Length}.", nameof(x));
        if (y.Length < rows) throw new ArgumentException($"Output needs {rows} values, got {y.Length}.", nameof(y));
        fixed (float* px = x)
        fixed (float* py = y)
        {
            var job = new Job(weights, columns, px, py);
            int parts = (int)Math.Clamp(Math.Min(threads, (long)rows * columns / ParallelThreshold), 1, Math.Max(1, rows));
            if (parts == 1)
            {
                job.Run(0, rows);
                return;
            }
            PoolFork.For(parts, p =>
                job.Run((int)((long)rows * p / parts), (int)((long)rows * (p + 1) / parts)));
        }
    }

    /// <summary>Managed-span overload of <see cref="MultiplyRows(float*, int, int, ReadOnlySpan{float}, int, Span{float}, int)"/>.</summary>
    /// <exception cref="ArgumentException">A span is shorter than the shape says.</exception>
    public static void MultiplyRows(ReadOnlySpan<float> weights, int rows, int columns, ReadOnlySpan<float> x, int n, Span<float> y, int threads)
    {
        if (weights.Length < (long)rows * columns) throw new ArgumentException($"Weights need {(long)rows * columns} values, got {weights.Length}.", nameof(weights));
        fixed (float* w = weights) MultiplyRows(w, rows, columns, x, n, y, threads);
    }

    /// <summary>
    /// Y (n × rows) = X·Wᵀ for <paramref name="n"/> activation rows X (n × columns): the batched decode product, one row
    /// per sequence. Each weight row is read from memory once for all activation rows, and every (weight row, activation
    /// row) result is bit-identical to <see cref="Multiply(float*, int, int, ReadOnlySpan{float}, Span{float}, int)"/> on
    /// that activation row alone, whatever <paramref name="n"/> and wherever the row sits (the per-row invariant).
    /// </summary>
    /// <exception cref="ArgumentException">The activation or output span is too short, or n is not positive.</exception>
    public static void MultiplyRows(float* weights, int rows, int columns, ReadOnlySpan<float> x, int n, Span<float> y, int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        if (x.Length < (long)n * columns) throw new ArgumentException($"Activations need {(long)n * columns} values, got {x.Length}.", nameof(x));
        if (y.Length < (long)n * rows) throw new ArgumentException($"Output needs {(long)n * rows} values, got {y.Length}.", nameof(y));
        if (n == 1)
        {
            Multiply(weights, rows, columns, x, y, threads);
            return;
        }
        fixed (float* px = x)
        fixed (float* py = y)
        {
            var job = new RowsJob(weights, rows, columns, px, n, py);
            // The same split as one row: the work per thread grows with n, the fork cost does not.
            int parts = (int)Math.Clamp(Math.Min(threads, (long)rows * columns / ParallelThreshold), 1, Math.Max(1, rows));
            if (parts == 1)
            {
                job.Run(0, rows);
                return;
            }
            PoolFork.For(parts, p =>
                job.Run((int)((long)rows * p / parts), (int)((long)rows * (p + 1) / parts)));
        }
    }

    private readonly struct RowsJob(float* weights, int rows, int columns, float* x, int n, float* y)
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            int r = start;
            if (Wide(columns))
            {
                // 4 weight rows × 4 activation rows per pass (two FMAs per load), then 4 × 2 and 4 × 1 for the ragged activation
                // rows; every dot has the one-accumulator order of ProductDot, so the grouping changes no bit.
                var tile = stackalloc float[16];
                for (; r + 4 <= end; r += 4)
                {
                    float* w0 = weights + ((long)r * columns);
                    int t = 0;
                    for (; t + 4 <= n; t += 4)
                    {
                        Tile4x4(w0, x + ((long)t * columns), columns, tile);
                        for (int b = 0; b < 4; b++)
                            for (int a = 0; a < 4; a++) y[((long)(t + b) * rows) + r + a] = tile[(a * 4) + b];
                    }
                    if (t + 2 <= n)
                    {
                        Tile4x2(w0, x + ((long)t * columns), columns, tile);
                        for (int b = 0; b < 2; b++)
                            for (int a = 0; a < 4; a++) y[((long)(t + b) * rows) + r + a] = tile[(a * 2) + b];
                        t += 2;
                    }
                    if (t < n) Tile4x1(w0, x + ((long)t * columns), columns, y + ((long)t * rows) + r);
                }
            }
            for (; r < end; r++)
            {
                float* w = weights + ((long)r * columns);
                for (int t = 0; t < n; t++) y[((long)t * rows) + r] = ProductDot(w, x + ((long)t * columns), columns);
            }
        }
    }

    private readonly struct Job(float* weights, int columns, float* x, float* y)
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            int r = start;
            if (Wide(columns)) for (; r + 4 <= end; r += 4) Tile4x1(weights + ((long)r * columns), x, columns, y + r);
            for (; r < end; r++) y[r] = ProductDot(weights + ((long)r * columns), x, columns);
        }
    }
}
