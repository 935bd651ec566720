using System.Runtime.Intrinsics;

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
            Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, p =>
                job.Run((int)((long)rows * p / parts), (int)((long)rows * (p + 1) / parts)));
        }
    }

    private readonly struct RowsJob(float* weights, int rows, int columns, float* x, int n, float* y)
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            bool wide = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated && columns >= 16;
            int r = start;
            if (wide)
            {
                // 2 weight rows × 2 activation rows per pass: each load feeds two FMAs, with the accumulation order of RowOps.Dot.
                for (; r + 2 <= end; r += 2)
                {
                    float* w0 = weights + ((long)r * columns), w1 = w0 + columns;
                    int t = 0;
                    for (; t + 2 <= n; t += 2)
                    {
                        float* x0 = x + ((long)t * columns), x1 = x0 + columns;
                        Dot2x2(w0, w1, x0, x1, columns, out float a, out float b, out float c, out float d);
                        y[((long)t * rows) + r] = a;
                        y[((long)t * rows) + r + 1] = b;
                        y[((long)(t + 1) * rows) + r] = c;
                        y[((long)(t + 1) * rows) + r + 1] = d;
                    }
                    if (t < n)
                    {
                        var xt = new ReadOnlySpan<float>(x + ((long)t * columns), columns);
                        y[((long)t * rows) + r] = RowOps.Dot(new ReadOnlySpan<float>(w0, columns), xt);
                        y[((long)t * rows) + r + 1] = RowOps.Dot(new ReadOnlySpan<float>(w1, columns), xt);
                    }
                }
            }
            for (; r < end; r++)
            {
                var w = new ReadOnlySpan<float>(weights + ((long)r * columns), columns);
                for (int t = 0; t < n; t++) y[((long)t * rows) + r] = RowOps.Dot(w, new ReadOnlySpan<float>(x + ((long)t * columns), columns));
            }
        }
    }

    /// <summary>
    /// Four dots (w0·x0, w1·x0, w0·x1, w1·x1) whose every operation, in order, is that of <see cref="RowOps.Dot"/>'s
    /// 512-bit path (4 accumulators over 64 values, then 16 at a time into the first, then the scalar tail), so each result
    /// equals RowOps.Dot bit for bit. Needs columns ≥ 16 and 512-bit vectors.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal static void Dot2x2(float* w0, float* w1, float* x0, float* x1, int columns, out float r00, out float r10, out float r01, out float r11)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default; // w0·x0
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default; // w1·x0
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default; // w0·x1
        Vector512<float> d0 = default, d1 = default, d2 = default, d3 = default; // w1·x1
        int i = 0;
        for (; i + 64 <= columns; i += 64)
        {
            var p0 = Vector512.Load(w0 + i); var q0 = Vector512.Load(w1 + i); var u0 = Vector512.Load(x0 + i); var v0 = Vector512.Load(x1 + i);
            a0 = Vector512.FusedMultiplyAdd(p0, u0, a0); b0 = Vector512.FusedMultiplyAdd(q0, u0, b0);
            c0 = Vector512.FusedMultiplyAdd(p0, v0, c0); d0 = Vector512.FusedMultiplyAdd(q0, v0, d0);
            var p1 = Vector512.Load(w0 + i + 16); var q1 = Vector512.Load(w1 + i + 16); var u1 = Vector512.Load(x0 + i + 16); var v1 = Vector512.Load(x1 + i + 16);
            a1 = Vector512.FusedMultiplyAdd(p1, u1, a1); b1 = Vector512.FusedMultiplyAdd(q1, u1, b1);
            c1 = Vector512.FusedMultiplyAdd(p1, v1, c1); d1 = Vector512.FusedMultiplyAdd(q1, v1, d1);
            var p2 = Vector512.Load(w0 + i + 32); var q2 = Vector512.Load(w1 + i + 32); var u2 = Vector512.Load(x0 + i + 32); var v2 = Vector512.Load(x1 + i + 32);
            a2 = Vector512.FusedMultiplyAdd(p2, u2, a2); b2 = Vector512.FusedMultiplyAdd(q2, u2, b2);
            c2 = Vector512.FusedMultiplyAdd(p2, v2, c2); d2 = Vector512.FusedMultiplyAdd(q2, v2, d2);
            var p3 = Vector512.Load(w0 + i + 48); var q3 = Vector512.Load(w1 + i + 48); var u3 = Vector512.Load(x0 + i + 48); var v3 = Vector512.Load(x1 + i + 48);
            a3 = Vector512.FusedMultiplyAdd(p3, u3, a3); b3 = Vector512.FusedMultiplyAdd(q3, u3, b3);
            c3 = Vector512.FusedMultiplyAdd(p3, v3, c3); d3 = Vector512.FusedMultiplyAdd(q3, v3, d3);
        }
        for (; i + 16 <= columns; i += 16)
        {
            var p = Vector512.Load(w0 + i); var q = Vector512.Load(w1 + i); var u = Vector512.Load(x0 + i); var v = Vector512.Load(x1 + i);
            a0 = Vector512.FusedMultiplyAdd(p, u, a0); b0 = Vector512.FusedMultiplyAdd(q, u, b0);
            c0 = Vector512.FusedMultiplyAdd(p, v, c0); d0 = Vector512.FusedMultiplyAdd(q, v, d0);
        }
        float s00 = Vector512.Sum((a0 + a1) + (a2 + a3)), s10 = Vector512.Sum((b0 + b1) + (b2 + b3));
        float s01 = Vector512.Sum((c0 + c1) + (c2 + c3)), s11 = Vector512.Sum((d0 + d1) + (d2 + d3));
        for (; i < columns; i++)
        {
            s00 += w0[i] * x0[i]; s10 += w1[i] * x0[i];
            s01 += w0[i] * x1[i]; s11 += w1[i] * x1[i];
        }
        (r00, r10, r01, r11) = (s00, s10, s01, s11);
    }

    private readonly struct Job(float* weights, int columns, float* x, float* y)
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end)
        {
            var activations = new ReadOnlySpan<float>(x, columns);
            for (int r = start; r < end; r++)
                y[r] = RowOps.Dot(new ReadOnlySpan<float>(weights + ((long)r * columns), columns), activations);
        }
    }
}
