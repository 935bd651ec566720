namespace QuickSilver.Engine.Kernels;

/// <summary>
/// Activation rows quantized per 32-value block to 8 bits exactly as <see cref="Q8Activations"/> does, laid out for the
/// bit-plane kernels: each row padded with zero codes to whole 128-value super-blocks (so the kernels have no ragged
/// tail), plus each block's code sum, which carries the offset of the planes' unsigned codes.
/// </summary>
public sealed class PlaneActivations
{
    private readonly Q8Activations _q8 = new();

    /// <summary>Rows held.</summary>
    public int Rows { get; private set; }

    /// <summary>Values per row before padding.</summary>
    public int Columns { get; private set; }

    /// <summary>Values per row after padding (a multiple of 128).</summary>
    public int PaddedColumns { get; private set; }

    /// <summary>Codes, Rows·PaddedColumns, pinned.</summary>
    internal sbyte[] Codes { get; private set; } = [];

    /// <summary>Block scales, Rows·PaddedColumns/32 (0 for padding), pinned.</summary>
    internal float[] Scales { get; private set; } = [];

    /// <summary>Eight int32 lanes per block, <c>[Σq, 0, …, 0]</c>, pinned.</summary>
    internal int[] Sums { get; private set; } = [];

    /// <summary>Quantizes <paramref name="rows"/> rows of <paramref name="columns"/> values (a multiple of 32).</summary>
    /// <exception cref="ArgumentException"><paramref name="columns"/> is not a positive multiple of 32, or the source is too short.</exception>
    public void Quantize(ReadOnlySpan<float> source, int rows, int columns)
    {
        _q8.Quantize(source, rows, columns);
        int padded = (columns + BitPlaneMatrix.SuperBlockSize - 1) / BitPlaneMatrix.SuperBlockSize * BitPlaneMatrix.SuperBlockSize;
        int nb = columns / 32, pnb = padded / 32;
        (Rows, Columns, PaddedColumns) = (rows, columns, padded);
        long count = (long)rows * padded;
        if (Codes.Length < count)
        {
            Codes = GC.AllocateArray<sbyte>((int)count, pinned: true);
            Scales = GC.AllocateArray<float>((int)(count / 32), pinned: true);
            Sums = GC.AllocateArray<int>((int)(count / 32 * 8), pinned: true);
        }
        for (int r = 0; r < rows; r++)
        {
            Span<sbyte> codes = Codes.AsSpan(r * padded, padded);
            _q8.Codes.AsSpan(r * columns, columns).CopyTo(codes);
            codes[columns..].Clear();
            _q8.Scales.AsSpan(r * nb, nb).CopyTo(Scales.AsSpan(r * pnb));
            Scales.AsSpan((r * pnb) + nb, pnb - nb).Clear();
            for (int b = 0; b < pnb; b++)
            {
                int sum = 0;
                foreach (sbyte q in codes.Slice(b * 32, 32)) sum += q;
                Sums[((r * pnb) + b) * 8] = sum;
            }
        }
    }

    /// <summary>Decodes row <paramref name="row"/> (unpadded) back to floats: the activations the kernels multiply.</summary>
    public float[] Dequantize(int row) => _q8.Dequantize(row);
}
