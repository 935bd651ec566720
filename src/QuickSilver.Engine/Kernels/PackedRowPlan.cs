namespace QuickSilver.Engine.Kernels;

/// <summary>
/// A row-stacked packed weight (q|k|v, gate|up) split once into one share of rows per thread, across its parts: the
/// decode product then forks once for the whole stack instead of once per part, and each thread streams only its rows.
/// </summary>
internal sealed class PackedRowPlan
{
    private readonly (QuantizedMatrix Slice, int Offset)[][] _shares;

    private PackedRowPlan((QuantizedMatrix, int)[][] shares, int threads) => (_shares, Threads) = (shares, threads);

    /// <summary>Threads the plan was made for.</summary>
    public int Threads { get; }

    /// <summary>
    /// Splits the rows of <paramref name="parts"/> (stacked top to bottom) into up to <paramref name="threads"/> shares of
    /// about equal bytes: decode streams every weight byte once, so a share's time goes with its bytes, and the parts of a
    /// stack may differ in bytes per row (q|k in Q4_K with v in Q6_K).
    /// </summary>
    public static PackedRowPlan Create(IReadOnlyList<QuantizedMatrix> parts, int threads)
    {
        long rows = parts.Sum(p => (long)p.Rows), values = parts.Sum(p => (long)p.Rows * p.Columns);
        int shares = (int)Math.Clamp(Math.Min(threads, values / FloatMatVec.ParallelThreshold), 1, Math.Max(1, rows));
        long[] bounds = ByteBalancedBounds(parts, shares);
        var result = new (QuantizedMatrix, int)[shares][];
        for (int s = 0; s < shares; s++)
        {
            long from = bounds[s], to = bounds[s + 1];
            var share = new List<(QuantizedMatrix, int)>();
            long at = 0;
            foreach (var part in parts)
            {
                long lo = Math.Max(from, at), hi = Math.Min(to, at + part.Rows);
                if (lo < hi) share.Add((lo == at && hi == at + part.Rows ? part : part.SliceRows((int)(lo - at), (int)(hi - lo)), (int)lo));
                at += part.Rows;
            }
            result[s] = [.. share];
        }
        return new PackedRowPlan(result, threads);
    }

    /// <summary>Stacked-row indices cutting <paramref name="parts"/> into <paramref name="shares"/> runs of about equal bytes (first 0, last all rows).</summary>
    internal static long[] ByteBalancedBounds(IReadOnlyList<QuantizedMatrix> parts, int shares)
    {
        long total = parts.Sum(p => p.ByteSize);
        var bounds = new long[shares + 1];
        for (int s = 1; s <= shares; s++)
        {
            long target = total * s / shares, bytesBefore = 0, rowsBefore = 0;
            bounds[s] = parts.Sum(p => (long)p.Rows);
            foreach (var part in parts)
            {
                if (s < shares && target < bytesBefore + part.ByteSize)
                {
                    long rowBytes = part.ByteSize / part.Rows;
                    bounds[s] = rowsBefore + (((target - bytesBefore) + (rowBytes / 2)) / rowBytes);
                    break;
                }
                bytesBefore += part.ByteSize;
                rowsBefore += part.Rows;
            }
            bounds[s] = Math.Max(bounds[s], bounds[s - 1]);
        }
        return bounds;
    }

    /// <summary>
    /// y (out) = W·a for one activation row, each part with the form it multiplies: <paramref name="blocks32"/> (32-value
    /// formats), <paramref name="blocks256"/> (k-quants, IQ4_XS) or the float row <paramref name="x"/> (F16/BF16); a form
    /// no part needs may be null.
    /// </summary>
    public unsafe void Multiply(ReadOnlySpan<float> x, Q8Activations? blocks32, Q8KActivations? blocks256, Span<float> y, int outFeatures, KernelIsa isa) =>
        Multiply(x, 1, blocks32, blocks256, y, outFeatures, isa);

    /// <summary>
    /// Y (n × out) = X·Wᵀ for <paramref name="n"/> activation rows (the batched decode step; the activation forms hold n
    /// rows): every share streams its weight rows once for all n rows.
    /// </summary>
    public unsafe void Multiply(ReadOnlySpan<float> x, int n, Q8Activations? blocks32, Q8KActivations? blocks256, Span<float> y, int outFeatures, KernelIsa isa)
    {
        fixed (float* px = x)
        fixed (float* py = y)
        {
            float* input = px, output = py;
            int inLength = x.Length, length = y.Length;
            void Run(int s)
            {
                var span = new Span<float>(output, length);
                foreach (var (slice, offset) in _shares[s])
                {
                    if (QuantizedMatrix.IsHalfPrecision(slice.Type)) QuantizedMatMul.MultiplyExact(slice, new ReadOnlySpan<float>(input, inLength), n, span, isa != KernelIsa.Scalar, 1, outFeatures, offset);
                    else if (KQuantDot.Handles(slice.Type)) QuantizedMatMul.Multiply(slice, blocks256!, span, isa, 1, outFeatures, offset);
                    else QuantizedMatMul.Multiply(slice, blocks32!, span, isa, 1, outFeatures, offset);
                }
            }
            if (_shares.Length == 1) Run(0);
            else RowFork.For(_shares.Length, Run);
        }
    }

    /// <summary>y (out) = W·x for one float activation row (blocks decoded on the fly).</summary>
    public unsafe void MultiplyExact(ReadOnlySpan<float> x, Span<float> y, int outFeatures, bool simd) => MultiplyExact(x, 1, y, outFeatures, simd);

    /// <summary>Y (n × out) = X·Wᵀ for <paramref name="n"/> float activation rows.</summary>
    public unsafe void MultiplyExact(ReadOnlySpan<float> x, int n, Span<float> y, int outFeatures, bool simd)
    {
        fixed (float* px = x)
        fixed (float* py = y)
        {
            float* input = px, output = py;
            int inLength = x.Length, outLength = y.Length;
            void Run(int s)
            {
                var span = new Span<float>(output, outLength);
                var row = new ReadOnlySpan<float>(input, inLength);
                foreach (var (slice, offset) in _shares[s]) QuantizedMatMul.MultiplyExact(slice, row, n, span, simd, 1, outFeatures, offset);
            }
            if (_shares.Length == 1) Run(0);
            else RowFork.For(_shares.Length, Run);
        }
    }
}
