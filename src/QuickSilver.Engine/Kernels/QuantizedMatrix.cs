using System.Buffers.Binary;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// A weight matrix (rows = output features, columns = input features) kept in a ggml block format, repacked at the same
/// size: each row's block codes contiguous in <see cref="Codes"/> and its half-precision block scales in <see cref="Scales"/>,
/// so a SIMD load takes two blocks' codes at once. Q8_0: 32 int8 codes per block, <c>x = q·d</c>. Q4_0: 16 bytes per block,
/// low nibbles elements 0..15 and high nibbles 16..31, <c>x = (q − 8)·d</c> (the GGUF order, unchanged).
/// </summary>
public sealed class QuantizedMatrix
{
    private QuantizedMatrix(GgufTensorType type, int rows, int columns, byte[] codes, ushort[] scales, int firstRow = 0)
    {
        (Type, Rows, Columns, Codes, Scales, FirstRow) = (type, rows, columns, codes, scales, firstRow);
    }

    /// <summary>The block format: <see cref="GgufTensorType.Q8_0"/> or <see cref="GgufTensorType.Q4_0"/>.</summary>
    public GgufTensorType Type { get; }

    /// <summary>Output features.</summary>
    public int Rows { get; }

    /// <summary>Input features (a multiple of 32).</summary>
    public int Columns { get; }

    /// <summary>Blocks per row.</summary>
    public int BlocksPerRow => Columns / GgmlQuantization.BlockSize;

    /// <summary>Code bytes per row: 32 per Q8_0 block, 16 per Q4_0 block.</summary>
    public int RowCodeBytes => BlocksPerRow * CodeBytesPerBlock(Type);

    /// <summary>Bytes of this matrix's rows: the same as the GGUF tensor's.</summary>
    public long ByteSize => ((long)Rows * RowCodeBytes) + ((long)Rows * BlocksPerRow * 2);

    /// <summary>Where this matrix's row 0 is in <see cref="Codes"/>/<see cref="Scales"/> (non-zero for a <see cref="SliceRows"/> view).</summary>
    internal int FirstRow { get; }

    /// <summary>Row-major codes, pinned.</summary>
    internal byte[] Codes { get; }

    /// <summary>Row-major half-precision scale bits, pinned.</summary>
    internal ushort[] Scales { get; }

    /// <summary>Whether the kernels can hold <paramref name="type"/> quantized.</summary>
    public static bool Supports(GgufTensorType type) => type is GgufTensorType.Q8_0 or GgufTensorType.Q4_0;

    /// <summary>Bytes per GGUF block of <paramref name="type"/>.</summary>
    public static int BlockBytes(GgufTensorType type) => type switch
    {
        GgufTensorType.Q8_0 => GgmlQuantization.Q8_0BlockBytes,
        GgufTensorType.Q4_0 => GgmlQuantization.Q4_0BlockBytes,
        _ => throw new NotSupportedException($"Tensor type {type} cannot be held quantized (supported: Q8_0, Q4_0)."),
    };

    private static int CodeBytesPerBlock(GgufTensorType type) => BlockBytes(type) - 2;

    /// <summary>Repacks <paramref name="rows"/>·<paramref name="columns"/> values of GGUF blocks (row-major, blocks along a row).</summary>
    /// <exception cref="ArgumentException">The shape does not fit the format or the byte count.</exception>
    public static QuantizedMatrix FromGgufBlocks(GgufTensorType type, long rows, long columns, ReadOnlySpan<byte> blocks)
    {
        int blockBytes = BlockBytes(type);
        if (rows <= 0 || columns <= 0 || columns % GgmlQuantization.BlockSize != 0 || rows * columns > int.MaxValue)
            throw new ArgumentException($"Shape [{rows}, {columns}] cannot be held as {type}: columns must be a positive multiple of 32 and the size below 2^31.");
        long blockCount = rows * columns / GgmlQuantization.BlockSize;
        if (blocks.Length != blockCount * blockBytes)
            throw new ArgumentException($"{type} [{rows}, {columns}] needs {blockCount * blockBytes} bytes, got {blocks.Length}.", nameof(blocks));
        int codeBytes = blockBytes - 2;
        var codes = GC.AllocateUninitializedArray<byte>((int)(blockCount * codeBytes), pinned: true);
        var scales = GC.AllocateUninitializedArray<ushort>((int)blockCount, pinned: true);
        for (int b = 0; b < blockCount; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * blockBytes, blockBytes);
            scales[b] = BinaryPrimitives.ReadUInt16LittleEndian(block);
            block[2..].CopyTo(codes.AsSpan(b * codeBytes, codeBytes));
        }
        return new QuantizedMatrix(type, (int)rows, (int)columns, codes, scales);
    }

    /// <summary>A view of rows [<paramref name="start"/>, start + <paramref name="count"/>) sharing this matrix's storage.</summary>
    public QuantizedMatrix SliceRows(int start, int count)
    {
        if (start < 0 || count <= 0 || start + count > Rows) throw new ArgumentOutOfRangeException(nameof(count), $"Rows [{start}, {start + count}) are outside [0, {Rows}).");
        return new QuantizedMatrix(Type, count, Columns, Codes, Scales, FirstRow + start);
    }

    /// <summary>Quantizes float rows with the ggml reference quantizers (<see cref="GgmlQuantization"/>).</summary>
    public static QuantizedMatrix Quantize(GgufTensorType type, long rows, long columns, ReadOnlySpan<float> values)
    {
        int blockBytes = BlockBytes(type);
        if (columns % GgmlQuantization.BlockSize != 0)
            throw new ArgumentException($"Cannot quantize [{rows}, {columns}] to {type}: the row length is not a multiple of 32.", nameof(columns));
        var blocks = new byte[rows * columns / GgmlQuantization.BlockSize * blockBytes];
        if (type == GgufTensorType.Q8_0) GgmlQuantization.QuantizeQ8_0(values[..(int)(rows * columns)], blocks);
        else GgmlQuantization.QuantizeQ4_0(values[..(int)(rows * columns)], blocks);
        return FromGgufBlocks(type, rows, columns, blocks);
    }

    /// <summary>The GGUF block bytes again (inverse of <see cref="FromGgufBlocks"/>).</summary>
    public byte[] ToGgufBlocks()
    {
        int blockBytes = BlockBytes(Type), codeBytes = blockBytes - 2, count = Rows * BlocksPerRow, first = FirstRow * BlocksPerRow;
        var result = new byte[(long)count * blockBytes];
        for (int b = 0; b < count; b++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(b * blockBytes), Scales[first + b]);
            Codes.AsSpan((first + b) * codeBytes, codeBytes).CopyTo(result.AsSpan((b * blockBytes) + 2));
        }
        return result;
    }

    /// <summary>Decodes to float32 with the ggml reference decoders: the weights every kernel must agree with.</summary>
    public float[] Dequantize()
    {
        var result = new float[(long)Rows * Columns];
        byte[] blocks = ToGgufBlocks();
        if (Type == GgufTensorType.Q8_0) GgmlQuantization.DequantizeQ8_0(blocks, result);
        else GgmlQuantization.DequantizeQ4_0(blocks, result);
        return result;
    }

    /// <summary>Decodes one row into <paramref name="destination"/> (an embedding lookup); same values as <see cref="Dequantize"/>.</summary>
    public void DequantizeRow(int row, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)row, (uint)Rows, nameof(row));
        if (destination.Length < Columns) throw new ArgumentException($"Need {Columns} values.", nameof(destination));
        int nb = BlocksPerRow, rowBytes = RowCodeBytes;
        ReadOnlySpan<byte> codes = Codes.AsSpan((FirstRow + row) * rowBytes, rowBytes);
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
                    byte packed = codes[(b * 16) + i];
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
        int rowBytes = RowCodeBytes, nb = BlocksPerRow;
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
        var scales = GC.AllocateUninitializedArray<ushort>(parts.Sum(p => p.Rows * p.BlocksPerRow), pinned: true);
        int codeAt = 0, scaleAt = 0;
        foreach (var p in parts)
        {
            int codeCount = p.Rows * p.RowCodeBytes, scaleCount = p.Rows * p.BlocksPerRow;
            p.Codes.AsSpan(p.FirstRow * p.RowCodeBytes, codeCount).CopyTo(codes.AsSpan(codeAt)); codeAt += codeCount;
            p.Scales.AsSpan(p.FirstRow * p.BlocksPerRow, scaleCount).CopyTo(scales.AsSpan(scaleAt)); scaleAt += scaleCount;
        }
        return new QuantizedMatrix(first.Type, parts.Sum(p => p.Rows), first.Columns, codes, scales);
    }
}
