using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// Activation rows quantized per 32-value block to 8 bits, the way llama.cpp multiplies Q8_0 and Q4_0 weights
/// (its Q8_0 "vec_dot_type"): <c>a ≈ q·s</c> with <c>s = max|a|/127</c> and <c>q = round-to-even(a/s)</c>. The scale stays
/// float32 (ggml rounds it to half; ours is at least as exact). Also holds the derived forms the SIMD paths want.
/// </summary>
public sealed class Q8Activations
{
    /// <summary>Values per block.</summary>
    public const int BlockSize = 32;

    /// <summary>Creates empty buffers; <see cref="Quantize"/> sizes them.</summary>
    public Q8Activations() { }

    /// <summary>Rows held.</summary>
    public int Rows { get; private set; }

    private static long s_versions;

    /// <summary>A process-wide unique stamp of the last <see cref="Quantize"/>: the GEMM's layout of these codes is reused while it holds.</summary>
    internal long Version { get; private set; }

    /// <summary>Values per row (a multiple of 32).</summary>
    public int Columns { get; private set; }

    /// <summary>Blocks per row.</summary>
    public int BlocksPerRow => Columns / BlockSize;

    /// <summary>Codes, row-major (Rows·Columns), pinned.</summary>
    internal sbyte[] Codes { get; private set; } = [];

    /// <summary>−q: the AVX-512 Q8_0 path selects q or −q by the weight's sign (AVX-512 has no vpsignb).</summary>
    internal sbyte[] Negated { get; private set; } = [];

    /// <summary>Block scales, row-major (Rows·BlocksPerRow), pinned.</summary>
    internal float[] Scales { get; private set; } = [];

    /// <summary>
    /// Eight int32 lanes per block, <c>[−8·Σq, 0, …, 0]</c>: the start value of a block's integer dot against
    /// Q4_0 nibbles, so that <c>Σ nib·q − 8·Σq = Σ (nib − 8)·q</c> comes out of the unsigned×signed instruction directly.
    /// </summary>
    internal int[] Q4Offsets { get; private set; } = [];

    /// <summary>Blocks per row rounded up to 16: the row stride of <see cref="PaddedScales"/> and <see cref="BlockSums"/>.</summary>
    internal int PaddedBlocks => (BlocksPerRow + 15) / 16 * 16;

    /// <summary>Bytes per row of <see cref="Q4Order"/>: blocks rounded up to 4, 32 codes each.</summary>
    internal int Q4RowBytes => (BlocksPerRow + 3) / 4 * 128;

    /// <summary>
    /// Block scales with each row padded with zeros to <see cref="PaddedBlocks"/>, so <see cref="DecodeMatVec"/> loads 16
    /// at once and a row's last partial step multiplies by zero instead of reading the next row.
    /// </summary>
    internal Span<float> PaddedScales => _paddedScales.AsSpan(_paddedScalesStart);

    /// <summary>Σq per block, rows padded with zeros like <see cref="PaddedScales"/>: the bias of an offset weight code.</summary>
    internal Span<int> BlockSums => _blockSums.AsSpan(_blockSumsStart);

    /// <summary>
    /// Codes in the order the Q4_0 decode kernel meets them (<see cref="Q4_0Layout"/>). Each whole group of 16 blocks
    /// (512 codes) is transposed by 4-code words: vector m (64 bytes, m = 0..7) holds elements 4m..4m+3 of blocks 0..15
    /// (m &lt; 4 meet the low nibbles of weight word m, m ≥ 4 the high nibbles of word m − 4). The last <c>nb mod 16</c>
    /// blocks are in the order of a 64-byte load of four GGUF-order blocks' nibbles: per group of four blocks, the first
    /// halves (elements 0..15 of blocks 0..3, which meet the low nibbles) then the second halves (16..31, the high
    /// nibbles). Rows are padded with zeros to <see cref="Q4RowBytes"/>.
    /// </summary>
    internal sbyte[] Q4Order { get; private set; } = [];

    /// <summary>Bytes per row of <see cref="GroupOrder"/>: <see cref="PaddedBlocks"/> blocks of 32 codes.</summary>
    internal int GroupRowBytes => PaddedBlocks * BlockSize;

    /// <summary>
    /// Codes of every group of 16 blocks transposed by 4-code words, the last partial group too (padded with zero codes):
    /// vector m (64 bytes, m = 0..7) of a group holds elements 4m..4m+3 of its blocks 0..15, so an integer dot against
    /// weights laid out the same way leaves one block per int32 lane (<see cref="DecodeVnniCode"/>). Whole groups equal
    /// <see cref="Q4Order"/>'s. Rows are <see cref="GroupRowBytes"/> apart.
    /// </summary>
    internal Span<sbyte> GroupOrder => _groupOrder.AsSpan(_groupOrderStart);

    // PaddedScales, BlockSums and GroupOrder start on a 64-byte boundary of their pinned arrays: the decode kernels load
    // them 64 bytes at a time, and a load across two cache lines costs two.
    private float[] _paddedScales = [];
    private int[] _blockSums = [];
    private sbyte[] _groupOrder = [];
    private int _paddedScalesStart, _blockSumsStart, _groupOrderStart;

    /// <summary>Quantizes <paramref name="rows"/> rows of <paramref name="columns"/> values.</summary>
    /// <exception cref="ArgumentException"><paramref name="columns"/> is not a positive multiple of 32, or the source is too short.</exception>
    public void Quantize(ReadOnlySpan<float> source, int rows, int columns)
    {
        if (columns <= 0 || columns % BlockSize != 0)
            throw new ArgumentException($"Column count {columns} is not a positive multiple of {BlockSize}.", nameof(columns));
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        long count = (long)rows * columns;
        if (source.Length < count) throw new ArgumentException($"Need {count} values, got {source.Length}.", nameof(source));
        Version = Interlocked.Increment(ref s_versions); // first: a failed quantize must not look like the last good one
        Ensure(rows, columns);
        int nb = BlocksPerRow, padded = PaddedBlocks, q4Bytes = Q4RowBytes, full = nb / Q4_0Layout.GroupBlocks * Q4_0Layout.GroupBlocks;
        var codeWords = MemoryMarshal.Cast<sbyte, int>(Codes.AsSpan());
        var groupWords = MemoryMarshal.Cast<sbyte, int>(GroupOrder);
        var q4Words = MemoryMarshal.Cast<sbyte, int>(Q4Order.AsSpan()); // whole-group words: rows and groups are 4-byte aligned
        int groupRowWords = GroupRowBytes / 4;
        var paddedScales = PaddedScales;
        var blockSums = BlockSums;
        for (int r = 0; r < rows; r++)
        {
            // The last group's absent blocks are zero codes.
            groupWords.Slice((r * groupRowWords) + (full * 8), groupRowWords - (full * 8)).Clear();
            // Padding first: a row's last partial step reads it as zeros.
            paddedScales.Slice((r * padded) + nb, padded - nb).Clear();
            blockSums.Slice((r * padded) + nb, padded - nb).Clear();
            Q4Order.AsSpan((r * q4Bytes) + (nb / 4 * 128), q4Bytes - (nb / 4 * 128)).Clear();
            for (int j = 0; j < nb; j++)
            {
                int block = (r * nb) + j;
                int sum = QuantizeBlock(source.Slice(block * BlockSize, BlockSize), block);
                paddedScales[(r * padded) + j] = Scales[block];
                blockSums[(r * padded) + j] = sum;
                // Group j/16, slot j%16: word m of the block at word 16·m + slot.
                int groupAt = (r * groupRowWords) + (j / 16 * 128) + (j % 16);
                for (int m = 0; m < 8; m++) groupWords[groupAt + (16 * m)] = codeWords[(block * 8) + m];
                if (j < full)
                {
                    // Group j/16, slot j%16: word m of the block at 64·m + 4·slot.
                    int start = (r * q4Bytes) + (j / 16 * 512) + (j % 16 * 4);
                    for (int m = 0; m < 8; m++) q4Words[(start / 4) + (16 * m)] = codeWords[(block * 8) + m];
                    continue;
                }
                // Group j/4, slot j%4: first half at 16·slot, second half 64 bytes further.
                int at = (r * q4Bytes) + (j / 4 * 128) + (j % 4 * 16);
                Codes.AsSpan(block * BlockSize, 16).CopyTo(Q4Order.AsSpan(at, 16));
                Codes.AsSpan((block * BlockSize) + 16, 16).CopyTo(Q4Order.AsSpan(at + 64, 16));
            }
        }
    }

    private void Ensure(int rows, int columns)
    {
        (Rows, Columns) = (rows, columns);
        long count = (long)rows * columns;
        if (Codes.Length < count)
        {
            Codes = GC.AllocateUninitializedArray<sbyte>((int)count, pinned: true);
            Negated = GC.AllocateUninitializedArray<sbyte>((int)count, pinned: true);
            Scales = GC.AllocateUninitializedArray<float>((int)(count / BlockSize), pinned: true);
            Q4Offsets = GC.AllocateArray<int>((int)(count / BlockSize * 8), pinned: true);
        }
        if (PaddedScales.Length < rows * PaddedBlocks)
        {
            _paddedScales = AllocateAligned<float>(rows * PaddedBlocks, out _paddedScalesStart);
            _blockSums = AllocateAligned<int>(rows * PaddedBlocks, out _blockSumsStart);
        }
        if (Q4Order.Length < (long)rows * Q4RowBytes) Q4Order = GC.AllocateUninitializedArray<sbyte>(rows * Q4RowBytes, pinned: true);
        if (GroupOrder.Length < (long)rows * GroupRowBytes) _groupOrder = AllocateAligned<sbyte>(rows * GroupRowBytes, out _groupOrderStart);
    }

    /// <summary>A pinned array of at least <paramref name="count"/> elements after <paramref name="start"/>, the first 64-byte boundary.</summary>
    private static unsafe T[] AllocateAligned<T>(int count, out int start) where T : unmanaged
    {
        var array = GC.AllocateUninitializedArray<T>(count + (64 / sizeof(T)), pinned: true);
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        start = (int)((64 - (address & 63)) & 63) / sizeof(T);
        return array;
    }

    private int QuantizeBlock(ReadOnlySpan<float> x, int block)
    {
        Span<sbyte> codes = Codes.AsSpan(block * BlockSize, BlockSize);
        int sum;
        if (Vector256.IsHardwareAccelerated)
        {
            var v0 = Vector256.Create(x); var v1 = Vector256.Create(x[8..]); var v2 = Vector256.Create(x[16..]); var v3 = Vector256.Create(x[24..]);
            var m = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
            float amax = 0;
            for (int i = 0; i < 8; i++) amax = Math.Max(amax, m[i]);
            float d = amax / 127f;
            var inv = Vector256.Create(d != 0 ? 1f / d : 0f);
            var i0 = Vector256.ConvertToInt32(Vector256.Round(v0 * inv)); var i1 = Vector256.ConvertToInt32(Vector256.Round(v1 * inv));
            var i2 = Vector256.ConvertToInt32(Vector256.Round(v2 * inv)); var i3 = Vector256.ConvertToInt32(Vector256.Round(v3 * inv));
            sum = Vector256.Sum(i0 + i1 + i2 + i3);
            var packed = Vector256.Narrow(Vector256.Narrow(i0, i1), Vector256.Narrow(i2, i3)); // element order kept
            packed.StoreUnsafe(ref codes[0]);
            (-packed).StoreUnsafe(ref Negated[block * BlockSize]);
            Scales[block] = d;
        }
        else
        {
            sum = QuantizeBlockScalar(x, codes, out Scales[block]);
            for (int i = 0; i < BlockSize; i++) Negated[(block * BlockSize) + i] = (sbyte)-codes[i];
        }
        Q4Offsets[block * 8] = -8 * sum;
        return sum;
    }

    /// <summary>The scalar definition of one block (the reference for the vector path): returns Σq.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static int QuantizeBlockScalar(ReadOnlySpan<float> x, Span<sbyte> codes, out float scale)
    {
        float amax = 0;
        for (int i = 0; i < BlockSize; i++) amax = Math.Max(amax, Math.Abs(x[i]));
        scale = amax / 127f;
        float inverse = scale != 0 ? 1f / scale : 0f;
        int sum = 0;
        for (int i = 0; i < BlockSize; i++)
        {
            int q = (int)MathF.Round(x[i] * inverse, MidpointRounding.ToEven);
            codes[i] = (sbyte)q;
            sum += q;
        }
        return sum;
    }

    /// <summary>Decodes row <paramref name="row"/> back to floats (q·s): the activations the kernels actually multiply.</summary>
    public float[] Dequantize(int row)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)row, (uint)Rows, nameof(row));
        var result = new float[Columns];
        for (int i = 0; i < Columns; i++) result[i] = Codes[(row * Columns) + i] * Scales[((row * Columns) + i) / BlockSize];
        return result;
    }
}
