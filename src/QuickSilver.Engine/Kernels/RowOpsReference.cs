namespace QuickSilver.Engine.Kernels;

/// <summary>
/// Plain scalar definitions of <see cref="RowOps"/>, <see cref="FloatMatVec"/> and <see cref="SingleQueryAttention"/>,
/// accumulated in float64: the oracle the SIMD row kernels are tested against.
/// </summary>
internal static class RowOpsReference
{
    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < Math.Min(a.Length, b.Length); i++) sum += (double)a[i] * b[i];
        return sum;
    }

    public static float[] RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> w, double eps)
    {
        double inv = 1 / Math.Sqrt((Dot(x, x) / x.Length) + eps);
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i++) y[i] = (float)(x[i] * inv * w[i]);
        return y;
    }

    public static float[] LayerNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, double eps)
    {
        double mean = 0, variance = 0;
        foreach (float v in x) mean += v;
        mean /= x.Length;
        foreach (float v in x) variance += (v - mean) * (v - mean);
        variance /= x.Length;
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i++) y[i] = (float)(((x[i] - mean) / Math.Sqrt(variance + eps) * w[i]) + b[i]);
        return y;
    }

    public static float[] SiluMul(ReadOnlySpan<float> gate, ReadOnlySpan<float> up)
    {
        var y = new float[gate.Length];
        for (int i = 0; i < y.Length; i++) y[i] = (float)(gate[i] / (1 + Math.Exp(-gate[i])) * up[i]);
        return y;
    }

    public static double GeluTanh(double x) => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + (0.044715 * x * x * x))));

    public static float[] RotateHalf(ReadOnlySpan<float> head, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, int rotated)
    {
        var y = head.ToArray();
        int half = rotated / 2;
        for (int i = 0; i < half; i++)
        {
            y[i] = (float)(((double)head[i] * cos[i]) - ((double)head[i + half] * sin[i]));
            y[i + half] = (float)(((double)head[i + half] * cos[i + half]) + ((double)head[i] * sin[i + half]));
        }
        return y;
    }

    /// <summary>y = W·x for W (rows × columns), row-major.</summary>
    public static float[] MatVec(ReadOnlySpan<float> w, int rows, int columns, ReadOnlySpan<float> x)
    {
        var y = new float[rows];
        for (int r = 0; r < rows; r++) y[r] = (float)Dot(w.Slice(r * columns, columns), x);
        return y;
    }

    /// <summary>
    /// One query row (nh·hs) over keys/values laid out (nkv, capacity, hs) with <paramref name="count"/> entries at
    /// <paramref name="keyPositions"/>: softmax(q·k·scale, soft-capped, masked to keys at or before the query and inside the window)·v.
    /// </summary>
    public static float[] Attend(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, ReadOnlySpan<long> keyPositions,
        int count, int capacity, int heads, int kvHeads, int headDim, long queryPosition, double scale, int? window, float softCap)
    {
        var output = new float[heads * headDim];
        int groups = heads / kvHeads;
        for (int h = 0; h < heads; h++)
        {
            int g = h / groups;
            var scores = new double[count];
            double max = double.NegativeInfinity;
            for (int j = 0; j < count; j++)
            {
                long distance = queryPosition - keyPositions[j];
                if (distance < 0 || (window is int w && distance >= w)) { scores[j] = double.NegativeInfinity; continue; }
                double s = Dot(q.Slice(h * headDim, headDim), keys.Slice(((g * capacity) + j) * headDim, headDim)) * scale;
                if (softCap > 0) s = Math.Tanh(s / softCap) * softCap;
                scores[j] = s;
                max = Math.Max(max, s);
            }
            if (double.IsNegativeInfinity(max)) continue;
            double sum = 0;
            for (int j = 0; j < count; j++) { scores[j] = Math.Exp(scores[j] - max); sum += scores[j]; }
            for (int d = 0; d < headDim; d++)
            {
                double acc = 0;
                for (int j = 0; j < count; j++) acc += scores[j] / sum * values[(((g * capacity) + j) * headDim) + d];
                output[(h * headDim) + d] = (float)acc;
            }
        }
        return output;
    }
}
