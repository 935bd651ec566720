using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// An 8-bit weight matrix (Q8_0 blocks: 32 int8 codes q and one half scale d per block) stored as nested bit planes,
/// Matryoshka style, so that a pass reading fewer planes reads fewer bytes: a 2-bit pass reads a quarter of the code
/// bytes, a 4-bit pass half, an 8-bit pass all of them (exactly the Q8_0 values).
/// </summary>
/// <remarks>
/// <para><b>Rounding scheme.</b> Each code is taken in offset binary, <c>o = q + 128</c> (0..255), and sliced by bit:
/// the high nibble <c>hi = o ≫ 4</c> (<see cref="High"/>) and the low nibble <c>lo = o &amp; 15</c> (<see cref="Low"/>);
/// the top two bits <c>hi ≫ 2</c> are also kept on their own (<see cref="Top"/>, derived from <see cref="High"/> on the
/// first 2-bit pass). Reading the top <c>b</c> bits, <c>u = o ≫ (8 − b)</c>, the value is the middle of the interval
/// those bits leave open: <c>q_b = u·2^(8−b) + 2^(7−b) − 128</c>, i.e. <c>16u − 120</c> at 4 bits (the odd multiples of
/// 8 from −120 to 120) and <c>64u − 96</c> at 2 bits (±32, ±96). That is the best reconstruction from a truncated code:
/// the error is at most half the interval (7.5 and 31.5 code steps against 8 and 32 for rounding to a 16- or 64-grid),
/// the grids are symmetric around zero (no bias), and the 8-bit code is exactly <c>16·hi + lo − 128</c>. The
/// Matryoshka Quantization of Nair et al. (2025) slices the most significant bits of one code the same way; the paper's
/// AMQ (2.5) assigns each token the number of slices its weights are read at.</para>
/// <para><b>Layout.</b> Rows are padded to whole super-blocks of 4 blocks (128 weights; padded blocks have scale 0 and
/// value 0). Each plane is its own array, each row of it contiguous, so a pass streams only the planes it reads; the
/// block scales are a fourth array. A row's super-blocks are taken in chunks of two (256 weights, 8 blocks; the last
/// chunk of an odd count holds one), the unit a 512-bit kernel step reads. Within a chunk of c super-blocks, weight e
/// (0–31) of chunk block b (0 to 4c − 1) is written as quarter j = e / 8 and i = e % 8, at p = 8b + i: its nibbles sit
/// in byte p of part j / 2 of the chunk's <see cref="High"/> and <see cref="Low"/> bytes (two parts of 32c bytes;
/// low nibble for even j, high nibble for odd j), its top bits in bits 2j, 2j+1 of byte p of the chunk's
/// <see cref="Top"/> bytes (32c). So one 64-byte load and one shift give a whole 256-weight chunk's nibbles as four
/// vectors in matching order, and the activations are reordered once per product to meet them
/// (<see cref="PlaneActivations"/>): a 4-bit pass costs what a Q4_0 pass costs.</para>
/// </remarks>
public sealed class BitPlaneMatrix
{
    /// <summary>Blocks per super-block.</summary>
    public const int SuperBlockBlocks = 4;

    /// <summary>Weights per super-block.</summary>
    public const int SuperBlockSize = SuperBlockBlocks * GgmlQuantization.BlockSize;

    private readonly Storage _storage;

    private BitPlaneMatrix(int rows, int columns, Storage storage, int firstRow)
    {
        (Rows, Columns, _storage, FirstRow) = (rows, columns, storage, firstRow);
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

    /// <summary>High nibbles (bits 7–4 of each offset code), 64 bytes per super-block (layout in the remarks), pinned.</summary>
    internal byte[] High => _storage.High;

    /// <summary>Low nibbles (bits 3–0), same layout as <see cref="High"/>, pinned.</summary>
    internal byte[] Low => _storage.Low;

    /// <summary>Top two bits (7–6), 32 bytes per super-block (layout in the remarks), pinned; made from <see cref="High"/> on first use.</summary>
    internal byte[] Top => _storage.GetTop(QuarterRowBytes, HalfRowBytes);

    /// <summary>Half-precision block scales, <see cref="PaddedBlocksPerRow"/> per row, pinned.</summary>
    internal ushort[] Scales => _storage.Scales;

    /// <summary>Whether every block scale is finite (the kernels then widen them without the infinity/NaN case).</summary>
    internal bool FiniteScales => _storage.FiniteScales;

    /// <summary>Bytes of one row's <see cref="Top"/> plane.</summary>
    internal int QuarterRowBytes => SuperBlocksPerRow * 32;

    /// <summary>Bytes of one row's <see cref="High"/> (and <see cref="Low"/>) plane.</summary>
    internal int HalfRowBytes => SuperBlocksPerRow * 64;

    /// <summary>
    /// Bytes held for this view's rows: both nibble planes and the scales (the size of the Q8_0 data, plus row padding),
    /// and the top plane once a 2-bit pass has made it.
    /// </summary>
    public long ByteSize => (long)Rows * ((2 * HalfRowBytes) + (2 * PaddedBlocksPerRow) + (_storage.HasTop ? QuarterRowBytes : 0));

    /// <summary>Bytes a pass at <paramref name="bits"/> reads from this matrix: the planes it needs and the block scales.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bits"/> is not 8, 4 or 2.</exception>
    public long BytesRead(int bits) => (long)Rows * (CheckBits(bits) switch
    {
        8 => 2 * HalfRowBytes,
        4 => HalfRowBytes,
        _ => QuarterRowBytes,
    } + (2 * PaddedBlocksPerRow));

    /// <summary>Splits a Q8_0 matrix into planes (the values read at 8 bits are exactly the Q8_0 values).</summary>
    /// <exception cref="ArgumentException"><paramref name="matrix"/> is not Q8_0.</exception>
    public static BitPlaneMatrix FromQ8_0(QuantizedMatrix matrix)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        if (matrix.Type != GgufTensorType.Q8_0) throw new ArgumentException($"Only Q8_0 weights can be split into bit planes, not {matrix.Type}.", nameof(matrix));
        int rows = matrix.Rows, columns = matrix.Columns, nb = matrix.BlocksPerRow;
        int superBlocks = (columns + SuperBlockSize - 1) / SuperBlockSize, padded = superBlocks * SuperBlockBlocks, half = superBlocks * 64;
        var high = GC.AllocateArray<byte>(rows * half, pinned: true);
        var low = GC.AllocateArray<byte>(rows * half, pinned: true);
        var scales = GC.AllocateArray<ushort>(rows * padded, pinned: true); // padding: scale 0
        bool finite = true;
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<byte> codes = matrix.Codes.AsSpan((matrix.FirstRow + r) * matrix.RowCodeBytes, matrix.RowCodeBytes);
            ReadOnlySpan<ushort> rowScales = matrix.Scales.AsSpan((matrix.FirstRow + r) * nb, nb);
            rowScales.CopyTo(scales.AsSpan(r * padded));
            foreach (ushort h in rowScales) finite &= (h & 0x7FFF) < 0x7C00;
            for (int column = 0; column < superBlocks * SuperBlockSize; column++)
            {
                int o = column < columns ? (sbyte)codes[column] + 128 : 128; // offset binary; padding: value 0
                var (nibble, shift, _, _) = Locate(column, superBlocks);
                high[(r * half) + nibble] |= (byte)((o >> 4) << shift);
                low[(r * half) + nibble] |= (byte)((o & 0x0F) << shift);
            }
        }
        return new BitPlaneMatrix(rows, columns, new Storage(high, low, scales, finite), 0);
    }

    /// <summary>A view of rows [<paramref name="start"/>, start + <paramref name="count"/>) sharing this matrix's planes.</summary>
    public BitPlaneMatrix SliceRows(int start, int count)
    {
        if (start < 0 || count <= 0 || start + count > Rows) throw new ArgumentOutOfRangeException(nameof(count), $"Rows [{start}, {start + count}) are outside [0, {Rows}).");
        return new BitPlaneMatrix(count, Columns, _storage, FirstRow + start);
    }

    /// <summary>The 8-bit code of weight (<paramref name="row"/>, <paramref name="column"/>) read at <paramref name="bits"/> bits, in Q8_0 code units.</summary>
    public float Code(int row, int column, int bits)
    {
        var (nibble, shift, _, _) = Locate(column, SuperBlocksPerRow);
        long at = ((FirstRow + (long)row) * HalfRowBytes) + nibble;
        int hi = (High[at] >> shift) & 0x0F;
        if (CheckBits(bits) == 2) return (64 * (hi >> 2)) - 96;
        if (bits == 4) return (16 * hi) - 120;
        return (16 * hi) + ((Low[at] >> shift) & 0x0F) - 128;
    }

    /// <summary>
    /// Where weight <paramref name="column"/> of a row of <paramref name="superBlocks"/> super-blocks sits (the layout in the
    /// remarks): its byte in the row's <see cref="High"/> and <see cref="Low"/> bytes and the nibble's shift, its byte in
    /// the row's <see cref="Top"/> bytes and the shift of its two bits.
    /// </summary>
    internal static (int Nibble, int NibbleShift, int Top, int TopShift) Locate(int column, int superBlocks)
    {
        int s = column / SuperBlockSize, chunk = s / 2, c = Math.Min(2, superBlocks - (2 * chunk));
        int b = (s % 2 * SuperBlockBlocks) + (column % SuperBlockSize / 32), e = column % 32, j = e / 8, p = (8 * b) + (e % 8);
        return ((128 * chunk) + (j / 2 * 32 * c) + p, j % 2 * 4, (64 * chunk) + p, 2 * j);
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

    /// <summary>The arrays every row view of one matrix shares.</summary>
    private sealed class Storage(byte[] high, byte[] low, ushort[] scales, bool finiteScales)
    {
        private readonly object _gate = new();
        private byte[]? _top;

        public byte[] High { get; } = high;

        public byte[] Low { get; } = low;

        public ushort[] Scales { get; } = scales;

        public bool FiniteScales { get; } = finiteScales;

        public bool HasTop => Volatile.Read(ref _top) is not null;

        // The top plane costs a quarter of the codes again; it is made only for a matrix some pass reads at 2 bits.
        public byte[] GetTop(int quarterRowBytes, int halfRowBytes)
        {
            if (Volatile.Read(ref _top) is { } made) return made;
            lock (_gate)
            {
                if (_top is not null) return _top;
                int rows = High.Length / halfRowBytes;
                var top = GC.AllocateArray<byte>(rows * quarterRowBytes, pinned: true);
                int superBlocks = halfRowBytes / 64;
                for (int r = 0; r < rows; r++)
                    for (int column = 0; column < superBlocks * SuperBlockSize; column++)
                    {
                        var (nibble, shift, at, topShift) = Locate(column, superBlocks);
                        int hi = (High[(r * halfRowBytes) + nibble] >> shift) & 0x0F;
                        top[(r * quarterRowBytes) + at] |= (byte)((hi >> 2) << topShift);
                    }
                Volatile.Write(ref _top, top);
                return top;
            }
        }
    }
}
