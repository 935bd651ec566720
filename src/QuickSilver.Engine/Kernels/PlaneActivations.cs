namespace QuickSilver.Engine.Kernels;

/// <summary>
/// Activation rows quantized per 32-value block to 8 bits exactly as <see cref="Q8Activations"/> does, laid out for the
/// bit-plane kernels: each row padded with zero codes to whole 128-value super-blocks (so the kernels have no ragged
/// tail inside a super-block) and put in the order of the planes' chunks (<see cref="BitPlaneMatrix"/>), plus each
/// block's scale and the offset terms of the planes' unsigned codes at each width (a multiple of the block's code sum),
/// padded per row to whole steps of 16 blocks with zeros.
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

    /// <summary>Blocks per row of <see cref="Scales"/> and the offsets: the padded blocks rounded up to 16.</summary>
    internal int BlockStride { get; private set; }

    /// <summary>
    /// Codes, Rows·PaddedColumns, pinned, each chunk of c super-blocks (256c values at 256·chunk) in plane order: quarter
    /// j (values 8j..8j+7 of every block) of all 8c blocks, 32c codes per quarter, block by block.
    /// </summary>
    internal sbyte[] Codes { get; private set; } = [];

    /// <summary>Block scales, Rows·<see cref="BlockStride"/> (0 for padding), pinned.</summary>
    internal float[] Scales { get; private set; } = [];

    /// <summary>128·Σq per block, Rows·<see cref="BlockStride"/> (0 for padding), pinned: the offset of an 8-bit read.</summary>
    internal int[] Offsets8 { get; private set; } = [];

    /// <summary>120·Σq per block, laid out as <see cref="Offsets8"/>: the offset of a 4-bit read (16·hi − 120).</summary>
    internal int[] Offsets4 { get; private set; } = [];

    /// <summary>96·Σq per block, laid out as <see cref="Offsets8"/>: the offset of a 2-bit read (64·top − 96).</summary>
    internal int[] Offsets2 { get; private set; } = [];

    /// <summary>The offsets of a read at <paramref name="bits"/> (8, 4 or 2).</summary>
    internal int[] Offsets(int bits) => bits == 8 ? Offsets8 : bits == 4 ? Offsets4 : Offsets2;

    /// <summary>Quantizes <paramref name="rows"/> rows of <paramref name="columns"/> values (a multiple of 32).</summary>
    /// <exception cref="ArgumentException"><paramref name="columns"/> is not a positive multiple of 32, or the source is too short.</exception>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Quantize(ReadOnlySpan<float> source, int rows, int columns)
    {
        _q8.Quantize(source, rows, columns);
        int superBlocks = (columns + BitPlaneMatrix.SuperBlockSize - 1) / BitPlaneMatrix.SuperBlockSize;
        int padded = superBlocks * BitPlaneMatrix.SuperBlockSize, nb = columns / 32, stride = (((padded / 32) + 15) / 16) * 16;
        (Rows, Columns, PaddedColumns, BlockStride) = (rows, columns, padded, stride);
        long count = (long)rows * padded;
        if (Codes.Length < count) Codes = GC.AllocateArray<sbyte>((int)count, pinned: true);
        if (Scales.Length < rows * stride)
        {
            Scales = GC.AllocateArray<float>(rows * stride, pinned: true);
            Offsets8 = GC.AllocateArray<int>(rows * stride, pinned: true);
            Offsets4 = GC.AllocateArray<int>(rows * stride, pinned: true);
            Offsets2 = GC.AllocateArray<int>(rows * stride, pinned: true);
        }
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<sbyte> natural = _q8.Codes.AsSpan(r * columns, columns);
            Span<sbyte> codes = Codes.AsSpan(r * padded, padded);
            codes.Clear();
            for (int chunk = 0; 2 * chunk < superBlocks; chunk++)
            {
                int c = Math.Min(2, superBlocks - (2 * chunk)), at = 256 * chunk;
                for (int b = 0; b < 4 * c && (at / 32) + b < nb; b++)
                    for (int j = 0; j < 4; j++)
                        natural.Slice(at + (32 * b) + (8 * j), 8).CopyTo(codes[(at + (32 * c * j) + (8 * b))..]);
            }
            _q8.Scales.AsSpan(r * nb, nb).CopyTo(Scales.AsSpan(r * stride));
            Scales.AsSpan((r * stride) + nb, stride - nb).Clear();
            for (int b = 0; b < stride; b++)
            {
                int sum = 0;
                if (b < nb) foreach (sbyte q in natural.Slice(b * 32, 32)) sum += q;
                (Offsets8[(r * stride) + b], Offsets4[(r * stride) + b], Offsets2[(r * stride) + b]) = (128 * sum, 120 * sum, 96 * sum);
            }
        }
    }

    /// <summary>Decodes row <paramref name="row"/> (unpadded, natural order) back to floats: the activations the kernels multiply.</summary>
    public float[] Dequantize(int row) => _q8.Dequantize(row);
}
