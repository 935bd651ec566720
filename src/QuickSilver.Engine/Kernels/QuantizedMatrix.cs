using System.Buffers.Binary;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Quantization;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// A weight matrix (rows = output features, columns = input features) kept in a ggml block format, repacked at the same
/// size: each row's block codes contiguous in <see cref="Codes"/> and its half-precision block scales in <see cref="Scales"/>,
/// so a SIMD load takes two blocks' codes at once. Q8_0: 32 int8 codes per block, <c>x = q·d</c>. Q4_0: 16 bytes per block,
/// low nibbles elements 0..15 and high nibbles 16..31, <c>x = (q − 8)·d</c>, each whole group of 16 blocks of a row
/// transposed by 4-byte words (<see cref="Q4_0Layout"/>: the decode kernel's integer dots then need no lane reduction).
/// Q4_K keeps whole blocks with each block's nibble bytes moved by 4-byte words (<see cref="Q4_KLayout"/>: the decode
/// kernel then adds a sub-block's byte products in 16-bit lanes and scales it once).
/// Every other format (Q4_1, Q5_0, Q5_1, IQ4_NL, the k-quants, IQ4_XS, F16, BF16) stays byte for byte in its GGUF block
/// layout (the layouts are documented next to the decoders in <c>Quantization/</c>): <see cref="Codes"/> holds whole blocks,
/// a row's blocks contiguous, and <see cref="Scales"/> is empty; their block scales sit inside the blocks, where the
/// kernels read them.
/// </summary>
public sealed class QuantizedMatrix
{
    private QuantizedMatrix(GgufTensorType type, int rows, int columns, byte[] codes, ushort[] scales, int firstRow = 0, bool? finiteScales = null)
    {
        (Type, Rows, Columns, Codes, Scales, FirstRow) = (type, rows, columns, codes, scales, firstRow);
        // Scanned once here (a row view shares its parent's array and answer): the decode kernels then widen the scales
        // by the short path, which is exact for finite halves only.
        FiniteScales = finiteScales ?? (scales.AsSpan().IndexOfAnyInRange((ushort)0x7C00, (ushort)0x7FFF) < 0
            && scales.AsSpan().IndexOfAnyInRange((ushort)0xFC00, (ushort)0xFFFF) < 0);
    }

    /// <summary>The block format (one of <see cref="SupportedTypes"/>).</summary>
    public GgufTensorType Type { get; }

    /// <summary>Output features.</summary>
    public int Rows { get; }

    /// <summary>Input features (a multiple of <see cref="BlockValues"/>).</summary>
    public int Columns { get; }

    /// <summary>Values per block: 32 for Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 and IQ4_NL, 256 for the k-quants and IQ4_XS, 1 for F16/BF16.</summary>
    public int BlockValues => BlockFormats.Get(Type).BlockValues;

    /// <summary>Blocks per row.</summary>
    public int BlocksPerRow => Columns / BlockValues;

    /// <summary>Code bytes per row: 32 per Q8_0 block, 16 per Q4_0 block, whole blocks for the formats kept in GGUF layout.</summary>
    public int RowCodeBytes => BlocksPerRow * CodeBytesPerBlock(Type);

    /// <summary>Bytes of this matrix's rows: the same as the GGUF tensor's.</summary>
    public long ByteSize => (long)Rows * BlocksPerRow * BlockBytes(Type);

    /// <summary>Where this matrix's row 0 is in <see cref="Codes"/>/<see cref="Scales"/> (non-zero for a <see cref="SliceRows"/> view).</summary>
    internal int FirstRow { get; }

    /// <summary>Row-major codes, pinned.</summary>
    internal byte[] Codes { get; }

    /// <summary>Row-major half-precision scale bits, pinned.</summary>
    internal ushort[] Scales { get; }

    /// <summary>Whether no scale in <see cref="Scales"/> is an infinity or NaN (true when there are none).</summary>
    internal bool FiniteScales { get; }

    /// <summary>Every format the kernels multiply without decoding to float32.</summary>
    public static IReadOnlyList<GgufTensorType> SupportedTypes { get; } =
    [
        GgufTensorType.Q8_0, GgufTensorType.Q4_0, GgufTensorType.Q4_1, GgufTensorType.Q5_0, GgufTensorType.Q5_1, GgufTensorType.IQ4_NL,
        GgufTensorType.Q2_K, GgufTensorType.Q3_K, GgufTensorType.Q4_K, GgufTensorType.Q5_K, GgufTensorType.Q6_K, GgufTensorType.IQ4_XS,
        GgufTensorType.F16, GgufTensorType.BF16,
    ];

    /// <summary>Whether <paramref name="type"/> is a 16-bit float format (multiplied by float32 activations, never rounded to 8 bits).</summary>
    public static bool IsHalfPrecision(GgufTensorType type) => type is GgufTensorType.F16 or GgufTensorType.BF16;

    /// <summary>Whether the kernels can hold <paramref name="type"/> packed.</summary>
    public static bool Supports(GgufTensorType type) => SupportedTypes.Contains(type);

    /// <summary>Whether <paramref name="type"/> can be the target of quantizing float weights at load (Q8_0 or Q4_0).</summary>
    public static bool CanQuantizeTo(GgufTensorType type) => type is GgufTensorType.Q8_0 or GgufTensorType.Q4_0;

    /// <summary>Bytes per GGUF block of <paramref name="type"/>.</summary>
    public static int BlockBytes(GgufTensorType type) => Supports(type)
        ? BlockFormats.Get(type).BlockBytes
        : throw new NotSupportedException($"Tensor type {type} cannot be held packed (supported: {string.Join(", ", SupportedTypes)}).");

    /// <summary>Whether <paramref name="type"/> is split into codes and scales (Q8_0, Q4_0) rather than kept as whole blocks.</summary>
    internal static bool IsSplit(GgufTensorType type) => type is GgufTensorType.Q8_0 or GgufTensorType.Q4_0;

    private static int CodeBytesPerBlock(GgufTensorType type) => IsSplit(type) ? BlockBytes(type) - 2 : BlockBytes(type);

    private static int ScaleCount(GgufTensorType type, long blockCount) => IsSplit(type) ? (int)blockCount : 0;

    private static void CheckShape(GgufTensorType type, long rows, long columns)
    {
        int values = BlockFormats.Get(type).BlockValues;
        if (rows <= 0 || columns <= 0 || columns % values != 0 || rows * columns / values * BlockBytes(type) > Array.MaxLength)
            throw new ArgumentException($"Shape [{rows}, {columns}] cannot be held as {type}: columns must be a positive multiple of {values} and the size below 2 GiB.");
    }

    // Moves one GGUF block into the split arrays (Q8_0/Q4_0; Q4_0 codes to their place in Q4_0Layout) or copies it whole.
    private static void Store(GgufTensorType type, ReadOnlySpan<byte> block, long index, int blocksPerRow, byte[] codes, ushort[] scales)
    {
        if (type == GgufTensorType.Q4_0)
        {
            scales[index] = BinaryPrimitives.ReadUInt16LittleEndian(block);
            long row = index / blocksPerRow;
            Q4_0Layout.StoreBlock(block[2..], codes.AsSpan((int)(row * blocksPerRow * 16), blocksPerRow * 16), blocksPerRow, (int)(index - (row * blocksPerRow)));
        }
        else if (IsSplit(type))
        {
            int codeBytes = block.Length - 2;
            scales[index] = BinaryPrimitives.ReadUInt16LittleEndian(block);
            block[2..].CopyTo(codes.AsSpan((int)(index * codeBytes), codeBytes));
        }
        else if (type == GgufTensorType.Q4_K)
        {
            Q4_KLayout.StoreBlock(block, codes.AsSpan((int)(index * block.Length), block.Length));
        }
        else
        {
            block.CopyTo(codes.AsSpan((int)(index * block.Length), block.Length));
        }
    }

    /// <summary>Repacks <paramref name="rows"/>·<paramref name="columns"/> values of GGUF blocks (row-major, blocks along a row).</summary>
    /// <exception cref="ArgumentException">The shape does not fit the format or the byte count.</exception>
    public static QuantizedMatrix FromGgufBlocks(GgufTensorType type, long rows, long columns, ReadOnlySpan<byte> blocks)
    {
        int blockBytes = BlockBytes(type);
        CheckShape(type, rows, columns);
        long blockCount = rows * columns / BlockFormats.Get(type).BlockValues;
        if (blocks.Length != blockCount * blockBytes)
            throw new ArgumentException($"{type} [{rows}, {columns}] needs {blockCount * blockBytes} bytes, got {blocks.Length}.", nameof(blocks));
        var codes = GC.AllocateUninitializedArray<byte>((int)(blockCount * CodeBytesPerBlock(type)), pinned: true);
        var scales = GC.AllocateUninitializedArray<ushort>(ScaleCount(type, blockCount), pinned: true);
        int perRow = (int)(columns / BlockFormats.Get(type).BlockValues);
        for (int b = 0; b < blockCount; b++) Store(type, blocks.Slice(b * blockBytes, blockBytes), b, perRow, codes, scales);
        return new QuantizedMatrix(type, (int)rows, (int)columns, codes, scales);
    }

    /// <summary>A view of rows [<paramref name="start"/>, start + <paramref name="count"/>) sharing this matrix's storage.</summary>
    public QuantizedMatrix SliceRows(int start, int count)
    {
        if (start < 0 || count <= 0 || start + count > Rows) throw new ArgumentOutOfRangeException(nameof(count), $"Rows [{start}, {start + count}) are outside [0, {Rows}).");
        return new QuantizedMatrix(Type, count, Columns, Codes, Scales, FirstRow + start, FiniteScales);
    }

    /// <summary>
    /// Repacks GGUF blocks read piece by piece (<paramref name="readBlocks"/> fills a buffer from a block index), so a
    /// large tensor never sits in memory twice.
    /// </summary>
    public static QuantizedMatrix FromGgufBlocks(GgufTensorType type, long rows, long columns, Action<long, Span<byte>> readBlocks)
    {
        ArgumentNullException.ThrowIfNull(readBlocks);
        int blockBytes = BlockBytes(type);
        CheckShape(type, rows, columns);
        int blockCount = (int)(rows * columns / BlockFormats.Get(type).BlockValues);
        var codes = GC.AllocateUninitializedArray<byte>(blockCount * CodeBytesPerBlock(type), pinned: true);
        var scales = GC.AllocateUninitializedArray<ushort>(ScaleCount(type, blockCount), pinned: true);
        var buffer = new byte[Math.Min(blockCount, (1 << 20) / blockBytes) * blockBytes];
        int perRow = (int)(columns / BlockFormats.Get(type).BlockValues);
        for (int first = 0; first < blockCount;)
        {
            int count = Math.Min(blockCount - first, buffer.Length / blockBytes);
            Span<byte> chunk = buffer.AsSpan(0, count * blockBytes);
            readBlocks(first, chunk);
            for (int b = 0; b < count; b++) Store(type, chunk.Slice(b * blockBytes, blockBytes), first + b, perRow, codes, scales);
            first += count;
        }
        return new QuantizedMatrix(type, (int)rows, (int)columns, codes, scales);
    }

    /// <summary>Quantizes float rows with the ggml reference quantizers (<see cref="GgmlQuantization"/>).</summary>
    public static QuantizedMatrix Quantize(GgufTensorType type, long rows, long columns, ReadOnlySpan<float> values)
    {
        if (!CanQuantizeTo(type)) throw new ArgumentException($"Float weights can be quantized to Q8_0 or Q4_0, not {type}.", nameof(type));
        int blockBytes = BlockBytes(type);
        if (columns % GgmlQuantization.BlockSize != 0)
            throw new ArgumentException($"Cannot quantize [{rows}, {columns}] to {type}: the row length is not a multiple of 32.", nameof(columns));
        var blocks = new byte[rows * columns / GgmlQuantization.BlockSize * blockBytes];
        if (type == GgufTensorType.Q8_0) GgmlQuantization.QuantizeQ8_0(values[..(int)(rows * columns)], blocks);
        else GgmlQuantization.QuantizeQ4_0(values[..(int)(rows * columns)], blocks);
        return FromGgufBlocks(type, rows, columns, blocks);
    }

    /// <summary>The GGUF block bytes again (inverse of <see cref="FromGgufBlocks(GgufTensorType, long, long, ReadOnlySpan{byte})"/>).</summary>
    public byte[] ToGgufBlocks()
    {
        int blockBytes = BlockBytes(Type), codeBytes = blockBytes - 2, count = Rows * BlocksPerRow, first = FirstRow * BlocksPerRow;
        if (Type == GgufTensorType.Q4_K)
        {
            var blocks = new byte[(long)count * blockBytes];
            for (int b = 0; b < count; b++) Q4_KLayout.LoadBlock(Codes.AsSpan((first + b) * blockBytes, blockBytes), blocks.AsSpan(b * blockBytes, blockBytes));
            return blocks;
        }
        if (!IsSplit(Type)) return Codes.AsSpan(first * blockBytes, count * blockBytes).ToArray();
        var result = new byte[(long)count * blockBytes];
        int nb = BlocksPerRow;
        for (int b = 0; b < count; b++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(b * blockBytes), Scales[first + b]);
            if (Type == GgufTensorType.Q4_0)
            {
                int rowStart = (first + b) / nb * nb * 16, block = (first + b) % nb;
                for (int i = 0; i < 16; i++) result[(b * blockBytes) + 2 + i] = Codes[rowStart + Q4_0Layout.Offset(nb, block, i)];
            }
            else
            {
                Codes.AsSpan((first + b) * codeBytes, codeBytes).CopyTo(result.AsSpan((b * blockBytes) + 2));
            }
        }
        return result;
    }

    /// <summary>Decodes to float32 with the ggml reference decoders: the weights every kernel must agree with.</summary>
    public float[] Dequantize()
    {
        var result = new float[(long)Rows * Columns];
        BlockFormats.Get(Type).DecodeChecked(ToGgufBlocks(), result);
        return result;
    }

    /// <summary>Decodes one row into <paramref name="destination"/> (an embedding lookup); same values as <see cref="Dequantize"/>.</summary>
    public void DequantizeRow(int row, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)row, (uint)Rows, nameof(row));
        if (destination.Length < Columns) throw new ArgumentException($"Need {Columns} values.", nameof(destination));
        int nb = BlocksPerRow, rowBytes = RowCodeBytes;
        ReadOnlySpan<byte> codes = Codes.AsSpan((FirstRow + row) * rowBytes, rowBytes);
        if (Type == GgufTensorType.Q4_K)
        {
            // Back to GGUF order block by block (Q4_KLayout), then the reference decoder.
            Span<byte> block = stackalloc byte[BlockQ4_K.Bytes];
            for (int b = 0; b < nb; b++)
            {
                Q4_KLayout.LoadBlock(codes.Slice(b * BlockQ4_K.Bytes, BlockQ4_K.Bytes), block);
                BlockQ4_K.Decode(block, destination.Slice(b * 256, 256));
            }
            return;
        }
        if (!IsSplit(Type))
        {
            BlockFormats.Get(Type).Decode(codes, destination[..Columns]);
            return;
        }
        ReadOnlySpan<ushort> scales = Scales.AsSpan((FirstRow + row) * nb, nb);
        for (int b = 0; b < nb; b++)
        {
            float d = HalfTable.Values[scales[b]];
            Span<float> y = destination.Slice(b * 32, 32);
            if (Type == GgufTensorType.Q8_0)
            {
                for (int i = 0; i < 32; i++) y[i] = (sbyte)codes[(b * 32) + i] * d;
            }
            else
            {
                for (int i = 0; i < 16; i++)
                {
                    byte packed = codes[Q4_0Layout.Offset(nb, b, i)];
                    y[i] = ((packed & 0x0F) - 8) * d;
                    y[i + 16] = ((packed >> 4) - 8) * d;
                }
            }
        }
    }

    /// <summary>A copy whose row <c>i</c> is this matrix's row <c>sourceRows[i]</c>.</summary>
    public QuantizedMatrix PermuteRows(ReadOnlySpan<int> sourceRows)
    {
        if (sourceRows.Length != Rows) throw new ArgumentException($"Need {Rows} row indices, got {sourceRows.Length}.", nameof(sourceRows));
        int rowBytes = RowCodeBytes, nb = IsSplit(Type) ? BlocksPerRow : 0;
        var codes = GC.AllocateUninitializedArray<byte>(Rows * rowBytes, pinned: true);
        var scales = GC.AllocateUninitializedArray<ushort>(Rows * nb, pinned: true);
        for (int i = 0; i < Rows; i++)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)sourceRows[i], (uint)Rows, nameof(sourceRows));
            int s = FirstRow + sourceRows[i];
            Codes.AsSpan(s * rowBytes, rowBytes).CopyTo(codes.AsSpan(i * rowBytes));
            Scales.AsSpan(s * nb, nb).CopyTo(scales.AsSpan(i * nb));
        }
        return new QuantizedMatrix(Type, Rows, Columns, codes, scales);
    }

    /// <summary>Stacks matrices of one format and width along the rows (e.g. q, k and v into one projection).</summary>
    public static QuantizedMatrix ConcatRows(IReadOnlyList<QuantizedMatrix> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0) throw new ArgumentException("Nothing to concatenate.", nameof(parts));
        var first = parts[0];
        if (parts.Any(p => p.Type != first.Type || p.Columns != first.Columns))
            throw new ArgumentException("Only matrices of one format and width can be stacked.", nameof(parts));
        var codes = GC.AllocateUninitializedArray<byte>(parts.Sum(p => p.Rows * p.RowCodeBytes), pinned: true);
        int scalesPerRow = IsSplit(first.Type) ? first.BlocksPerRow : 0;
        var scales = GC.AllocateUninitializedArray<ushort>(parts.Sum(p => p.Rows * scalesPerRow), pinned: true);
        int codeAt = 0, scaleAt = 0;
        foreach (var p in parts)
        {
            int codeCount = p.Rows * p.RowCodeBytes, scaleCount = p.Rows * scalesPerRow;
            p.Codes.AsSpan(p.FirstRow * p.RowCodeBytes, codeCount).CopyTo(codes.AsSpan(codeAt)); codeAt += codeCount;
            p.Scales.AsSpan(p.FirstRow * scalesPerRow, scaleCount).CopyTo(scales.AsSpan(scaleAt)); scaleAt += scaleCount;
        }
        return new QuantizedMatrix(first.Type, parts.Sum(p => p.Rows), first.Columns, codes, scales);
    }
}
