using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace QuickSilver.Engine.Kernels;

/// <summary>
/// Activation rows quantized per 256-value block to 8 bits, the way llama.cpp multiplies k-quant and IQ4_XS weights (its
/// Q8_K "vec_dot_type"): <c>a ≈ q·s</c> with <c>s = max|a|/127</c>, <c>q = round-to-even(a/s)</c>, plus the sum of every 16
/// codes, which turns a format's per-sub-block minimum or code offset into one small product per sub-block instead of a
/// subtraction per weight.
/// </summary>
public sealed class Q8KActivations
{
    /// <summary>Values per block.</summary>
    public const int BlockSize = 256;

    /// <summary>Values per partial sum.</summary>
    public const int SumSize = 16;

    /// <summary>Creates empty buffers; <see cref="Quantize"/> sizes them.</summary>
    public Q8KActivations() { }

    /// <summary>Rows held.</summary>
    public int Rows { get; private set; }

    private static long s_versions;

    /// <summary>A process-wide unique stamp of the last <see cref="Quantize"/>: the GEMM's layout of these codes is reused while it holds.</summary>
    internal long Version { get; private set; }

    /// <summary>Values per row (a multiple of 256).</summary>
    public int Columns { get; private set; }

    /// <summary>Blocks per row.</summary>
    public int BlocksPerRow => Columns / BlockSize;

    /// <summary>Codes, row-major (Rows·Columns), pinned.</summary>
    internal sbyte[] Codes { get; private set; } = [];

    /// <summary>Block scales, row-major (Rows·BlocksPerRow), pinned.</summary>
    internal float[] Scales { get; private set; } = [];

    /// <summary>Σq over each 16 codes (16 per block), pinned.</summary>
    internal short[] Sums { get; private set; } = [];

    /// <summary>
    /// <see cref="Codes"/> with each block's 4-byte words in the order the Q4_K kernels meet them
    /// (<see cref="Q4_KLayout.ActivationPosition"/>), pinned: one 64-byte load per nibble kind and half of a stored block.
    /// </summary>
    internal sbyte[] K4Order { get; private set; } = [];

    /// <summary>The codes a <paramref name="type"/> row dot reads: <see cref="K4Order"/> for Q4_K, <see cref="Codes"/> otherwise.</summary>
    internal sbyte[] CodesFor(Loading.GgufTensorType type) => type == Loading.GgufTensorType.Q4_K ? K4Order : Codes;

    // K4Order word p of a block is Codes word s_k4Words[p] of it.
    private static readonly byte[] s_k4Words = K4Words();

    private static byte[] K4Words()
    {
        var words = new byte[BlockSize / 4];
        for (int v = 0; v < BlockSize; v += 4) words[Q4_KLayout.ActivationPosition(v) / 4] = (byte)(v / 4);
        return words;
    }

    /// <summary>Quantizes <paramref name="rows"/> rows of <paramref name="columns"/> values.</summary>
    /// <exception cref="ArgumentException"><paramref name="columns"/> is not a positive multiple of 256, or the source is too short.</exception>
    public void Quantize(ReadOnlySpan<float> source, int rows, int columns)
    {
        if (columns <= 0 || columns % BlockSize != 0)
            throw new ArgumentException($"Column count {columns} is not a positive multiple of {BlockSize}.", nameof(columns));
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        long count = (long)rows * columns;
        if (source.Length < count) throw new ArgumentException($"Need {count} values, got {source.Length}.", nameof(source));
        Version = Interlocked.Increment(ref s_versions); // first: a failed quantize must not look like the last good one
        (Rows, Columns) = (rows, columns);
        if (Codes.Length < count)
        {
            Codes = GC.AllocateUninitializedArray<sbyte>((int)count, pinned: true);
            Scales = GC.AllocateUninitializedArray<float>((int)(count / BlockSize), pinned: true);
            Sums = GC.AllocateUninitializedArray<short>((int)(count / SumSize), pinned: true);
            K4Order = GC.AllocateUninitializedArray<sbyte>((int)count, pinned: true);
        }
        int blocks = (int)(count / BlockSize);
        for (int b = 0; b < blocks; b++)
        {
            if (Vector256.IsHardwareAccelerated) QuantizeBlockVector(source.Slice(b * BlockSize, BlockSize), b);
            else QuantizeBlockScalar(source.Slice(b * BlockSize, BlockSize), Codes.AsSpan(b * BlockSize, BlockSize), Sums.AsSpan(b * 16, 16), out Scales[b]);
        }
        ReorderK4(blocks);
    }

    private unsafe void ReorderK4(int blocks)
    {
        fixed (sbyte* codes = Codes)
        fixed (sbyte* ordered = K4Order)
        fixed (byte* words = s_k4Words)
        {
            for (int b = 0; b < blocks; b++)
            {
                uint* from = (uint*)(codes + ((long)b * BlockSize)), to = (uint*)(ordered + ((long)b * BlockSize));
                for (int p = 0; p < BlockSize / 4; p++) to[p] = from[words[p]];
            }
        }
    }

    private void QuantizeBlockVector(ReadOnlySpan<float> x, int block)
    {
        ref float x0 = ref Unsafe.AsRef(in x[0]);
        var m = Vector256<float>.Zero;
        for (int i = 0; i < BlockSize; i += 8) m = Vector256.Max(m, Vector256.Abs(Vector256.LoadUnsafe(ref x0, (nuint)i)));
        float amax = 0;
        for (int i = 0; i < 8; i++) amax = Math.Max(amax, m[i]);
        float d = amax / 127f;
        var inv = Vector256.Create(d != 0 ? 1f / d : 0f);
        ref sbyte codes = ref Codes[block * BlockSize];
        for (int i = 0; i < BlockSize; i += 16)
        {
            var i0 = Vector256.ConvertToInt32(Vector256.Round(Vector256.LoadUnsafe(ref x0, (nuint)i) * inv));
            var i1 = Vector256.ConvertToInt32(Vector256.Round(Vector256.LoadUnsafe(ref x0, (nuint)(i + 8)) * inv));
            Sums[(block * 16) + (i / 16)] = (short)Vector256.Sum(i0 + i1);
            var shorts = Vector256.Narrow(i0, i1); // element order kept
            Vector128.Narrow(shorts.GetLower(), shorts.GetUpper()).StoreUnsafe(ref codes, (nuint)i);
        }
        Scales[block] = d;
    }

    /// <summary>The scalar definition of one block (the reference for the vector path).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void QuantizeBlockScalar(ReadOnlySpan<float> x, Span<sbyte> codes, Span<short> sums, out float scale)
    {
        float amax = 0;
        for (int i = 0; i < BlockSize; i++) amax = Math.Max(amax, Math.Abs(x[i]));
        scale = amax / 127f;
        float inverse = scale != 0 ? 1f / scale : 0f;
        for (int g = 0; g < BlockSize / SumSize; g++)
        {
            int sum = 0;
            for (int i = g * SumSize; i < (g + 1) * SumSize; i++)
            {
                int q = (int)MathF.Round(x[i] * inverse, MidpointRounding.ToEven);
                codes[i] = (sbyte)q;
                sum += q;
            }
            sums[g] = (short)sum;
        }
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
