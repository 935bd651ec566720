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

    /// <summary>Splits the rows of <paramref name="parts"/> (stacked top to bottom) into up to <paramref name="threads"/> equal shares.</summary>
    public static PackedRowPlan Create(IReadOnlyList<QuantizedMatrix> parts, int threads)
    {
        long rows = parts.Sum(p => (long)p.Rows), values = parts.Sum(p => (long)p.Rows * p.Columns);
        int shares = (int)Math.Clamp(Math.Min(threads, values / FloatMatVec.ParallelThreshold), 1, Math.Max(1, rows));
        var result = new (QuantizedMatrix, int)[shares][];
        for (int s = 0; s < shares; s++)
        {
            long from = rows * s / shares, to = rows * (s + 1) / shares;
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

    /// <summary>y (out) = W·a for one quantized activation row.</summary>
    public unsafe void Multiply(Q8Activations activations, Span<float> y, int outFeatures, KernelIsa isa)
    {
        fixed (float* py = y)
        {
            float* output = py;
            int length = y.Length;
            void Run(int s)
            {
                var span = new Span<float>(output, length);
                foreach (var (slice, offset) in _shares[s]) QuantizedMatMul.Multiply(slice, activations, span, isa, 1, outFeatures, offset);
            }
            if (_shares.Length == 1) Run(0);
            else Parallel.For(0, _shares.Length, new ParallelOptions { MaxDegreeOfParallelism = _shares.Length }, Run);
        }
    }

    /// <summary>y (out) = W·x for one float activation row (blocks decoded on the fly).</summary>
    public unsafe void MultiplyExact(ReadOnlySpan<float> x, Span<float> y, int outFeatures, bool simd)
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
                foreach (var (slice, offset) in _shares[s]) QuantizedMatMul.MultiplyExact(slice, row, 1, span, simd, 1, outFeatures, offset);
            }
            if (_shares.Length == 1) Run(0);
            else Parallel.For(0, _shares.Length, new ParallelOptions { MaxDegreeOfParallelism = _shares.Length }, Run);
        }
    }
}
