using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// An 8-bit weight matrix (Q8_0 blocks: 32 int8 codes q and one half scale d per block) stored as nested bit planes,
/// Matryoshka style, so that a pass reading fewer planes reads fewer bytes: a 2-bit pass reads a quarter of the code
/// bytes, a 4-bit pass half, an 8-bit pass all of them (exactly the Q8_0 values).
/// </summary>
/// <remarks>
/// <para><b>Rounding scheme.</b> Each code is taken in offset binary, <c>o = q + 128</c> (0..255), and sliced by bit:
/// <see cref="Top"/> holds bits 7–6, <see cref="Middle"/> bits 5–4, <see cref="Low"/> bits 3–0. Reading the top
/// <c>b</c> bits, <c>u = o ≫ (8 − b)</c>, the value is the middle of the interval those bits leave open:
/// <c>q_b = u·2^(8−b) + 2^(7−b) − 128</c>, i.e. <c>16u − 120</c> at 4 bits (the odd multiples of 8 from −120 to 120)
/// and <c>64u − 96</c> at 2 bits (±32, ±96). That is the best reconstruction from a truncated code: the error is at
/// most half the interval (7.5 and 31.5 code steps against 8 and 32 for rounding to a 16- or 64-grid), the grids are
/// symmetric around zero (no bias), and the 8-bit code is the exact sum of the planes, so nothing is stored twice.
/// The Matryoshka Quantization of Nair et al. (2025) slices the most significant bits of one code the same way;
/// the paper's AMQ (2.5) assigns each token the number of slices its weights are read at.</para>
/// <para><b>Layout.</b> Rows are padded to whole super-blocks of 4 blocks (128 weights; padded blocks have scale 0 and
/// value 0). Each plane is its own array, each row of it contiguous, so a pass streams only the planes it reads; the
/// block scales are a fourth array. A row's super-blocks are taken in chunks of two (256 weights, 8 blocks; the last
/// chunk of an odd count holds one), the unit a 512-bit kernel step reads from each plane. Within a chunk of c
/// super-blocks, weight e (0–31) of block b (0–4c) is written as j = e / 8, i = e % 8 and sits at byte p = 8b + i of
/// the chunk's <see cref="Top"/> and <see cref="Middle"/> bytes (32c each) and of part j / 2 of its <see cref="Low"/>
/// bytes (two parts of 32c, nibble j % 2). Its top bits are bits 2–3, 6–7, 0–1, 4–5 of the <see cref="Top"/> byte and
/// its middle bits bits 0–1, 4–5, 2–3, 6–7 of the <see cref="Middle"/> byte for j = 0, 1, 2, 3. With that interleave one
/// bitwise select of (top, middle) and one of (top ≪ 2, middle ≫ 2) give the high nibbles (top·4 + middle) of
/// all 8c·32 weights as packed nibbles, so the 4-bit pass costs what a Q4_0 pass costs; the activations are reordered to
/// match (<see cref="PlaneActivations"/>).</para>
/// </remarks>
public sealed class BitPlaneMatrix
{
    /// <summary>Blocks per super-block.</summary>
    public const int SuperBlockBlocks = 4;

    /// <summary>Weights per super-block.</summary>
    public const int SuperBlockSize = SuperBlockBlocks * GgmlQuantization.BlockSize;

    private BitPlaneMatrix(int rows, int columns, byte[] top, byte[] middle, byte[] low, ushort[] scales, int firstRow)
    {
        (Rows, Columns, Top, Middle, Low, Scales, FirstRow) = (rows, columns, top, middle, low, scales, firstRow);
    }

    /// <summary>Output features.</summary>
    public int Rows { get; }

    /// <summary>Input features (a multiple of 32).</summary>
    public int Columns { get; }

    /// <summary>Super-blocks per row (the row padded to a multiple of 128).</summary>
    public int SuperBlocksPerRow => (Columns + SuperBlockSize - 1) / SuperBlockSize;

    /// <summary>Blocks per row including padding.</summary>
    public int PaddedBlocksPerRow => SuperBlocksPerRow * SuperBlockBlocks;

    /// <summary>Where row 0 of this view is in the plane arrays.</summary>
    internal int FirstRow { get; }

    /// <summary>Bits 7–6 of each offset code, 32 bytes per super-block (layout in the remarks), pinned.</summary>
    internal byte[] Top { get; }

    /// <summary>Bits 5–4, same layout as <see cref="Top"/>, pinned.</summary>
    internal byte[] Middle { get; }

    /// <summary>Bits 3–0, 64 bytes per super-block (layout in the remarks), pinned.</summary>
    internal byte[] Low { get; }

    /// <summary>Half-precision block scales, <see cref="PaddedBlocksPerRow"/> per row, pinned.</summary>
    internal ushort[] Scales { get; }

    /// <summary>Bytes of one row's <see cref="Top"/> (and <see cref="Middle"/>) plane.</summary>
    internal int QuarterRowBytes => SuperBlocksPerRow * 32;

    /// <summary>Bytes of one row's <see cref="Low"/> plane.</summary>
    internal int HalfRowBytes => SuperBlocksPerRow * 64;

    /// <summary>Bytes held for this view's rows: all planes and scales (the size of the Q8_0 data, plus row padding).</summary>
    public long ByteSize => (long)Rows * ((2 * QuarterRowBytes) + HalfRowBytes + (2 * PaddedBlocksPerRow));

    /// <summary>Bytes a pass at <paramref name="bits"/> reads from this matrix: the planes it needs and the block scales.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bits"/> is not 8, 4 or 2.</exception>
    public long BytesRead(int bits) => (long)Rows * (CheckBits(bits) switch
    {
        8 => (2 * QuarterRowBytes) + HalfRowBytes,
        4 => 2 * QuarterRowBytes,
        _ => QuarterRowBytes,
    } + (2 * PaddedBlocksPerRow));

    /// <summary>Splits a Q8_0 matrix into planes (the values read at 8 bits are exactly the Q8_0 values).</summary>
    /// <exception cref="ArgumentException"><paramref name="matrix"/> is not Q8_0.</exception>
    public static BitPlaneMatrix FromQ8_0(QuantizedMatrix matrix)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        if (matrix.Type != GgufTensorType.Q8_0) throw new ArgumentException($"Only Q8_0 weights can be split into bit planes, not {matrix.Type}.", nameof(matrix));
        int rows = matrix.Rows, columns = matrix.Columns, nb = matrix.BlocksPerRow;
        int superBlocks = (columns + SuperBlockSize - 1) / SuperBlockSize, padded = superBlocks * SuperBlockBlocks;
        var top = GC.AllocateArray<byte>(rows * superBlocks * 32, pinned: true);
        var middle = GC.AllocateArray<byte>(rows * superBlocks * 32, pinned: true);
        var low = GC.AllocateArray<byte>(rows * superBlocks * 64, pinned: true);
        var scales = GC.AllocateArray<ushort>(rows * padded, pinned: true); // padding: scale 0
        int quarter = superBlocks * 32, half = superBlocks * 64;
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<byte> codes = matrix.Codes.AsSpan((matrix.FirstRow + r) * matrix.RowCodeBytes, matrix.RowCodeBytes);
            matrix.Scales.AsSpan((matrix.FirstRow + r) * nb, nb).CopyTo(scales.AsSpan(r * padded));
            for (int column = 0; column < superBlocks * SuperBlockSize; column++)
            {
                int o = column < columns ? (sbyte)codes[column] + 128 : 128; // offset binary; padding: value 0
                var (t, m, l, lowNibble) = Locate(column, superBlocks);
                top[(r * quarter) + t.Byte] |= (byte)((o >> 6) << t.Shift);
                middle[(r * quarter) + m.Byte] |= (byte)(((o >> 4) & 3) << m.Shift);
                low[(r * half) + l] |= (byte)((o & 0x0F) << lowNibble);
            }
        }
        return new BitPlaneMatrix(rows, columns, top, middle, low, scales, 0);
    }

    /// <summary>A view of rows [<paramref name="start"/>, start + <paramref name="count"/>) sharing this matrix's planes.</summary>
    public BitPlaneMatrix SliceRows(int start, int count)
    {
        if (start < 0 || count <= 0 || start + count > Rows) throw new ArgumentOutOfRangeException(nameof(count), $"Rows [{start}, {start + count}) are outside [0, {Rows}).");
        return new BitPlaneMatrix(count, Columns, Top, Middle, Low, Scales, FirstRow + start);
    }

    /// <summary>The 8-bit code of weight (<paramref name="row"/>, <paramref name="column"/>) read at <paramref name="bits"/> bits, in Q8_0 code units.</summary>
    public float Code(int row, int column, int bits)
    {
        var (t, m, l, lowNibble) = Locate(column, SuperBlocksPerRow);
        long r = FirstRow + row;
        int top = (Top[(r * QuarterRowBytes) + t.Byte] >> t.Shift) & 3;
        if (CheckBits(bits) == 2) return (64 * top) - 96;
        int hi = (top << 2) | ((Middle[(r * QuarterRowBytes) + m.Byte] >> m.Shift) & 3);
        if (bits == 4) return (16 * hi) - 120;
        int lo = (Low[(r * HalfRowBytes) + l] >> lowNibble) & 0x0F;
        return (16 * hi) + lo - 128;
    }

    /// <summary>Bit shift of the top bits of quarter j (weights 8j..8j+7 of a block) in a <see cref="Top"/> byte.</summary>
    internal static ReadOnlySpan<byte> TopShift => [2, 6, 0, 4];

    /// <summary>Bit shift of the middle bits of quarter j in a <see cref="Middle"/> byte.</summary>
    internal static ReadOnlySpan<byte> MiddleShift => [0, 4, 2, 6];

    /// <summary>
    /// Where weight <paramref name="column"/> of a row of <paramref name="superBlocks"/> super-blocks sits: its byte in the
    /// row's <see cref="Top"/> (and <see cref="Middle"/>) bytes with the bit shift of each, its byte in the row's
    /// <see cref="Low"/> bytes and the nibble's shift (the layout in the remarks).
    /// </summary>
    internal static ((int Byte, int Shift) Top, (int Byte, int Shift) Middle, int Low, int LowShift) Locate(int column, int superBlocks)
    {
        int s = column / SuperBlockSize, chunk = s / 2, c = Math.Min(2, superBlocks - (2 * chunk));
        int b = (s % 2 * SuperBlockBlocks) + (column % SuperBlockSize / 32), e = column % 32, j = e / 8, p = (8 * b) + (e % 8);
        int quarterByte = (64 * chunk) + p;
        return ((quarterByte, TopShift[j]), (quarterByte, MiddleShift[j]), (128 * chunk) + (j / 2 * 32 * c) + p, j % 2 * 4);
    }

    /// <summary>Decodes the weights as a pass at <paramref name="bits"/> sees them (row-major, float32): the reference every plane kernel must agree with.</summary>
    public float[] Dequantize(int bits)
    {
        CheckBits(bits);
        var result = new float[(long)Rows * Columns];
        for (int r = 0; r < Rows; r++)
            for (int c = 0; c < Columns; c++)
                result[((long)r * Columns) + c] = Code(r, c, bits) * HalfTable.Values[Scales[((FirstRow + r) * PaddedBlocksPerRow) + (c / 32)]];
        return result;
    }

    internal static int CheckBits(int bits) => bits is 8 or 4 or 2
        ? bits
        : throw new ArgumentOutOfRangeException(nameof(bits), bits, "Bit planes are read at 8, 4 or 2 bits.");
}
