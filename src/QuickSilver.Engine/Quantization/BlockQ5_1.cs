using System.Buffers.Binary;

namespace QuickSilver.Engine.Quantization;

#pragma warning disable CA1707 // ggml's type names keep their underscores so the mapping stays obvious.
/// <summary>
/// Q5_1: 32 values in 24 bytes, 5-bit with an offset.
/// <code>
/// offset size field
///      0    2 d      f16 scale
///      2    2 m      f16 minimum
///      4    4 qh     u32 little-endian: bit j is the fifth bit of element j (j = 0..31)
///      8   16 qs     low four bits: low nibble of qs[j] is element j, high nibble is element j + 16
/// x = q · d + m
/// </code>
/// </summary>
public static class BlockQ5_1
{
    /// <summary>Values per block.</summary>
    public const int Values = 32;
    /// <summary>Bytes per block.</summary>
    public const int Bytes = 24;

    /// <summary>Decodes whole blocks (see the class remarks for the layout).</summary>
    public static void Decode(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        int count = BlockSpans.Count(blocks.Length, destination.Length, Values, Bytes, "Q5_1");
        for (int b = 0; b < count; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = destination.Slice(b * Values, Values);
            float d = BlockSpans.Half(block, 0), m = BlockSpans.Half(block, 2);
            uint qh = BinaryPrimitives.ReadUInt32LittleEndian(block[4..]);
            ReadOnlySpan<byte> qs = block[8..];
            for (int j = 0; j < 16; j++)
            {
                int low = (qs[j] & 0x0F) | (int)(((qh >> j) & 1) << 4);
                int high = (qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
                y[j] = (low * d) + m;
                y[j + 16] = (high * d) + m;
            }
        }
    }
}
