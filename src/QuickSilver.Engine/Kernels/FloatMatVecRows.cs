namespace QuickSilver.Engine.Kernels;

/// <summary>
/// <c>Y = X·Wᵀ</c> for a float32 matrix W (rows × columns, row-major) and a few activation rows X (n × columns): the product
/// of a short multi-token decode step (speculative verification, jump-forward) that reads W from memory once instead of n
/// times. Each (weight row, activation row) pair is one <see cref="RowOps.Dot"/>, exactly the call
/// <see cref="FloatMatVec.Multiply(float*, int, int, ReadOnlySpan{float}, Span{float}, int)"/> makes, so every output is
/// bit-identical to the single-row product wherever the row sits in the call (the per-row invariant of the decode kernel).
/// </summary>
public static unsafe class FloatMatVecRows
{
    // Weight rows per tile: the tile stays in L1/L2 while every activation row passes over it.
    private const int TileRows = 4;

    /// <summary>
    /// Multiplies rows [0, <paramref name="rows"/>) of <paramref name="weights"/> by each of the <paramref name="count"/>
    /// activation rows in <paramref name="x"/> (count × columns) into <paramref name="y"/> (count × rows).
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than the shape says.</exception>
    public static void MultiplyRows(float* weights, int rows, int columns, ReadOnlySpan<float> x, int count, Span<float> y, int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (x.Length < (long)count * columns) throw new ArgumentException($"Activations need {(long)count * columns} values, got {x.Length}.", nameof(x));
        if (y.Length < (long)count * rows) throw new ArgumentException($"Output needs {(long)count * rows} values, got {y.Length}.", nameof(y));
        fixed (float* px = x)
        fixed (float* py = y)
        {
            var job = new Job(weights, rows, columns, px, count, py);
            // The split depends on the weight only (not on count): a thread's share of rows is the same in every call.
            int parts = (int)Math.Clamp(Math.Min(threads, (long)rows * columns / FloatMatVec.ParallelThreshold), 1, Math.Max(1, rows));
            if (parts == 1)
            {
                job.Run(0, rows);
                return;
            }
            Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, p =>
                job.Run((int)((long)rows * p / parts), (int)((long)rows * (p + 1) / parts)));
        }
    }

    /// <summary>Managed-span overload of <see cref="MultiplyRows(float*, int, int, ReadOnlySpan{float}, int, Span{float}, int)"/>.</summary>
    /// <exception cref="ArgumentException">A span is shorter than the shape says.</exception>
    public static void MultiplyRows(ReadOnlySpan<float> weights, int rows, int columns, ReadOnlySpan<float> x, int count, Span<float> y, int threads)
    {
        if (weights.Length < (long)rows * columns) throw new ArgumentException($"Weights need {(long)rows * columns} values, got {weights.Length}.", nameof(weights));
        fixed (float* w = weights) MultiplyRows(w, rows, columns, x, count, y, threads);
    }

    private readonly struct Job(float* weights, int rows, int columns, float* x, int count, float* y)
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            for (int tile = start; tile < end; tile += TileRows)
            {
                int tileEnd = Math.Min(end, tile + TileRows);
                for (int n = 0; n < count; n++)
                {
                    var activations = new ReadOnlySpan<float>(x + ((long)n * columns), columns);
                    float* output = y + ((long)n * rows);
                    for (int r = tile; r < tileEnd; r++)
                        output[r] = RowOps.Dot(new ReadOnlySpan<float>(weights + ((long)r * columns), columns), activations);
                }
            }
        }
    }
}
