using System.Buffers.Binary;

namespace QuickSilver.Engine.Quantization;

#pragma warning disable CA1707 // ggml's type names keep their underscores so the mapping stays obvious.
/// <summary>
/// Q8_K: 256 values in 292 bytes; llama.cpp's activation format for k-quant dot products (rare in files).
/// <code>
/// offset size field
///      0    4 d      f32 scale
///      4  256 qs     int8 codes
///    260   32 bsums  int16 sums of each 16 codes (a kernel shortcut; not needed to decode)
/// x = q · d
/// </code>
/// </summary>
public static class BlockQ8_K
{
    /// <summary>Values per block.</summary>
    public const int Values = 256;
    /// <summary>Bytes per block.</summary>
    public const int Bytes = 292;

    /// <summary>Decodes whole blocks (see the class remarks for the layout).</summary>
    public static void Decode(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        int count = BlockSpans.Count(blocks.Length, destination.Length, Values, Bytes, "Q8_K");
        for (int b = 0; b < count; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = destination.Slice(b * Values, Values);
            float d = BinaryPrimitives.ReadSingleLittleEndian(block);
            for (int j = 0; j < Values; j++) y[j] = d * (sbyte)block[4 + j];
        }
    }
}
