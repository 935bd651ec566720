namespace QuickSilver.Engine.Kernels;

/// <summary>
/// <c>y = W·x</c> for a float32 matrix W (rows × columns, row-major, e.g. a libtorch weight's storage) and one activation
/// row: the decode product of a dense weight without a libtorch call. Rows are split into contiguous ranges, one per
/// thread, so each thread streams its own part of W once. Tested against <see cref="RowOpsReference.MatVec"/>.
/// </summary>
public static unsafe class FloatMatVec
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
            Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, p =>
                job.Run((int)((long)rows * p / parts), (int)((long)rows * (p + 1) / parts)));
        }
    }

    private readonly struct Job(float* weights, int columns, float* x, float* y)
    {
        public void Run(int start, int end)
        {
            var activations = new ReadOnlySpan<float>(x, columns);
            for (int r = start; r < end; r++)
                y[r] = RowOps.Dot(new ReadOnlySpan<float>(weights + ((long)r * columns), columns), activations);
        }
    }
}
