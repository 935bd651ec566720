using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// The dot of the float32 products and its tiles. Every (weight row, activation row) dot has one order: a single 16-lane
/// accumulator over the 16-value blocks, <c>Vector512.Sum</c>, then the scalar tail (<see cref="ProductDot"/>). With one
/// accumulator per dot a tile of 4 weight rows × 4 activation rows keeps its 16 accumulators in registers and does two
/// FMAs per load over contiguous memory, so a batched step of several rows is compute-bound at a higher rate than with
/// <see cref="RowOps.Dot"/>'s four accumulators per dot (which leave room for a 2 × 2 tile only, one FMA per load). The
/// one-row product runs four weight rows at a time, whose four accumulators give the FMA unit the independent chains a
/// single dot's four accumulators gave it.
/// </summary>
public static unsafe partial class FloatMatVec
{
    private static bool Wide(int columns) => Vector512.IsHardwareAccelerated && columns >= 16;

    /// <summary>
    /// w·x in the products' order (one 16-lane accumulator, then Sum, then the scalar tail); without 512-bit vectors or
    /// below 16 values, <see cref="RowOps.Dot"/> (the tiles are not used then either, so the order is still one).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float ProductDot(float* w, float* x, int columns)
    {
        if (!Wide(columns)) return RowOps.Dot(new ReadOnlySpan<float>(w, columns), new ReadOnlySpan<float>(x, columns));
        var acc = Vector512<float>.Zero;
        int i = 0;
        for (; i + 16 <= columns; i += 16) acc = Vector512.FusedMultiplyAdd(Vector512.Load(w + i), Vector512.Load(x + i), acc);
        float sum = Vector512.Sum(acc);
        for (; i < columns; i++) sum += w[i] * x[i];
        return sum;
    }

    /// <summary>
    /// Weight rows w0..w3 (consecutive, <paramref name="columns"/> apart) times one activation row: y[a] = w_a·x, each equal to
    /// <see cref="ProductDot"/>. Needs 512-bit vectors and columns ≥ 16.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Tile4x1(float* w, float* x, int columns, float* y)
    {
        float* w0 = w, w1 = w + columns, w2 = w1 + columns, w3 = w2 + columns;
        Vector512<float> a = default, b = default, c = default, d = default;
        int i = 0;
        for (; i + 16 <= columns; i += 16)
        {
            var u = Vector512.Load(x + i);
            a = Vector512.FusedMultiplyAdd(Vector512.Load(w0 + i), u, a);
            b = Vector512.FusedMultiplyAdd(Vector512.Load(w1 + i), u, b);
            c = Vector512.FusedMultiplyAdd(Vector512.Load(w2 + i), u, c);
            d = Vector512.FusedMultiplyAdd(Vector512.Load(w3 + i), u, d);
        }
        float sa = Vector512.Sum(a), sb = Vector512.Sum(b), sc = Vector512.Sum(c), sd = Vector512.Sum(d);
        for (; i < columns; i++)
        {
            float v = x[i];
            sa += w0[i] * v; sb += w1[i] * v; sc += w2[i] * v; sd += w3[i] * v;
        }
        y[0] = sa; y[1] = sb; y[2] = sc; y[3] = sd;
    }

    /// <summary>
    /// Weight rows w0..w3 times activation rows x0, x1 (consecutive): <paramref name="result"/>[a·2 + b] = w_a·x_b, each equal
    /// to <see cref="ProductDot"/>. Needs 512-bit vectors and columns ≥ 16.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Tile4x2(float* w, float* x, int columns, float* result)
    {
        float* w0 = w, w1 = w + columns, w2 = w1 + columns, w3 = w2 + columns;
        float* x0 = x, x1 = x + columns;
        Vector512<float> a0 = default, a1 = default, b0 = default, b1 = default, c0 = default, c1 = default, d0 = default, d1 = default;
        int i = 0;
        for (; i + 16 <= columns; i += 16)
        {
            var u0 = Vector512.Load(x0 + i); var u1 = Vector512.Load(x1 + i);
            var p = Vector512.Load(w0 + i);
            a0 = Vector512.FusedMultiplyAdd(p, u0, a0); a1 = Vector512.FusedMultiplyAdd(p, u1, a1);
            p = Vector512.Load(w1 + i);
            b0 = Vector512.FusedMultiplyAdd(p, u0, b0); b1 = Vector512.FusedMultiplyAdd(p, u1, b1);
            p = Vector512.Load(w2 + i);
            c0 = Vector512.FusedMultiplyAdd(p, u0, c0); c1 = Vector512.FusedMultiplyAdd(p, u1, c1);
            p = Vector512.Load(w3 + i);
            d0 = Vector512.FusedMultiplyAdd(p, u0, d0); d1 = Vector512.FusedMultiplyAdd(p, u1, d1);
        }
        if (LaneSums.IsSupported)
        {
            LaneSums.Of8(a0, a1, b0, b1, c0, c1, d0, d1).GetLower().Store(result);
            if (i == columns) return;
            for (int r = 0; r < 4; r++)
            {
                float* wr = w + ((long)r * columns);
                result[2 * r] = Finish(result[2 * r], wr, x0, i, columns); result[(2 * r) + 1] = Finish(result[(2 * r) + 1], wr, x1, i, columns);
            }
            return;
        }
        result[0] = Finish(Vector512.Sum(a0), w0, x0, i, columns); result[1] = Finish(Vector512.Sum(a1), w0, x1, i, columns);
        result[2] = Finish(Vector512.Sum(b0), w1, x0, i, columns); result[3] = Finish(Vector512.Sum(b1), w1, x1, i, columns);
        result[4] = Finish(Vector512.Sum(c0), w2, x0, i, columns); result[5] = Finish(Vector512.Sum(c1), w2, x1, i, columns);
        result[6] = Finish(Vector512.Sum(d0), w3, x0, i, columns); result[7] = Finish(Vector512.Sum(d1), w3, x1, i, columns);
    }

    /// <summary>
    /// Weight rows w0..w3 times activation rows x0..x3 (each consecutive): <paramref name="result"/>[a·4 + b] = w_a·x_b, each
    /// equal to <see cref="ProductDot"/>. 16 accumulators, 8 loads per 16 FMAs. Needs 512-bit vectors and columns ≥ 16.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Tile4x4(float* w, float* x, int columns, float* result)
    {
        float* w0 = w, w1 = w + columns, w2 = w1 + columns, w3 = w2 + columns;
        float* x0 = x, x1 = x + columns, x2 = x1 + columns, x3 = x2 + columns;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default; // w0 · x0..x3
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default; // w1
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default; // w2
        Vector512<float> d0 = default, d1 = default, d2 = default, d3 = default; // w3
        int i = 0;
        for (; i + 16 <= columns; i += 16)
        {
            var u0 = Vector512.Load(x0 + i); var u1 = Vector512.Load(x1 + i); var u2 = Vector512.Load(x2 + i); var u3 = Vector512.Load(x3 + i);
            var p = Vector512.Load(w0 + i);
            a0 = Vector512.FusedMultiplyAdd(p, u0, a0); a1 = Vector512.FusedMultiplyAdd(p, u1, a1);
            a2 = Vector512.FusedMultiplyAdd(p, u2, a2); a3 = Vector512.FusedMultiplyAdd(p, u3, a3);
            p = Vector512.Load(w1 + i);
            b0 = Vector512.FusedMultiplyAdd(p, u0, b0); b1 = Vector512.FusedMultiplyAdd(p, u1, b1);
            b2 = Vector512.FusedMultiplyAdd(p, u2, b2); b3 = Vector512.FusedMultiplyAdd(p, u3, b3);
            p = Vector512.Load(w2 + i);
            c0 = Vector512.FusedMultiplyAdd(p, u0, c0); c1 = Vector512.FusedMultiplyAdd(p, u1, c1);
            c2 = Vector512.FusedMultiplyAdd(p, u2, c2); c3 = Vector512.FusedMultiplyAdd(p, u3, c3);
            p = Vector512.Load(w3 + i);
            d0 = Vector512.FusedMultiplyAdd(p, u0, d0); d1 = Vector512.FusedMultiplyAdd(p, u1, d1);
            d2 = Vector512.FusedMultiplyAdd(p, u2, d2); d3 = Vector512.FusedMultiplyAdd(p, u3, d3);
        }
        if (LaneSums.IsSupported)
        {
            // The 16 sums in one shuffle tree (the bits of Vector512.Sum on each): result[4r + t] = w_r · x_t, then the
            // columns past the last whole vector one by one, as Finish adds them.
            LaneSums.Of16(a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3).Store(result);
            if (i == columns) return;
            for (int r = 0; r < 4; r++)
            {
                float* wr = w + ((long)r * columns);
                result[(4 * r) + 0] = Finish(result[(4 * r) + 0], wr, x0, i, columns); result[(4 * r) + 1] = Finish(result[(4 * r) + 1], wr, x1, i, columns);
                result[(4 * r) + 2] = Finish(result[(4 * r) + 2], wr, x2, i, columns); result[(4 * r) + 3] = Finish(result[(4 * r) + 3], wr, x3, i, columns);
            }
            return;
        }
        result[0] = Finish(Vector512.Sum(a0), w0, x0, i, columns); result[1] = Finish(Vector512.Sum(a1), w0, x1, i, columns);
        result[2] = Finish(Vector512.Sum(a2), w0, x2, i, columns); result[3] = Finish(Vector512.Sum(a3), w0, x3, i, columns);
        result[4] = Finish(Vector512.Sum(b0), w1, x0, i, columns); result[5] = Finish(Vector512.Sum(b1), w1, x1, i, columns);
        result[6] = Finish(Vector512.Sum(b2), w1, x2, i, columns); result[7] = Finish(Vector512.Sum(b3), w1, x3, i, columns);
        result[8] = Finish(Vector512.Sum(c0), w2, x0, i, columns); result[9] = Finish(Vector512.Sum(c1), w2, x1, i, columns);
        result[10] = Finish(Vector512.Sum(c2), w2, x2, i, columns); result[11] = Finish(Vector512.Sum(c3), w2, x3, i, columns);
        result[12] = Finish(Vector512.Sum(d0), w3, x0, i, columns); result[13] = Finish(Vector512.Sum(d1), w3, x1, i, columns);
        result[14] = Finish(Vector512.Sum(d2), w3, x2, i, columns); result[15] = Finish(Vector512.Sum(d3), w3, x3, i, columns);
    }

    /// <summary>The scalar tail [<paramref name="from"/>, columns) added to a lane sum, in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Finish(float sum, float* w, float* x, int from, int columns)
    {
        for (int i = from; i < columns; i++) sum += w[i] * x[i];
        return sum;
    }
}
