using System.Buffers.Binary;

namespace QuickSilver.Engine.Quantization;

#pragma warning disable CA1707 // ggml's type names keep their underscores so the mapping stays obvious.
/// <summary>
/// IQ4_XS: 256 values in 136 bytes, IQ4_NL's non-linear grid with a 6-bit signed scale per 32-value sub-block.
/// <code>
/// offset size field
///      0    2 d         f16 super-scale
///      2    2 scales_h  u16 little-endian: bits 2i..2i+1 are the top two bits of sub-block i's scale
///      4    4 scales_l  nibbles: low nibble of byte i/2 for even i, high nibble for odd i
///      8  128 qs        sub-block i uses qs[16i .. 16i + 15] as IQ4_NL does
/// x = d · (scale − 32) · <see cref="BlockIQ4_NL.Grid"/>[q]
/// </code>
/// </summary>
public static class BlockIQ4_XS
{
    /// <summary>Values per block.</summary>
    public const int Values = 256;
    /// <summary>Bytes per block.</summary>
    public const int Bytes = 136;

    /// <summary>Decodes whole blocks (see the class remarks for the layout).</summary>
    public static void Decode(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        int count = BlockSpans.Count(blocks.Length, destination.Length, Values, Bytes, "IQ4_XS");
        ReadOnlySpan<sbyte> grid = BlockIQ4_NL.Grid;
        for (int b = 0; b < count; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = destination.Slice(b * Values, Values);
            float d = BlockSpans.Half(block, 0);
            int scalesHigh = BinaryPrimitives.ReadUInt16LittleEndian(block[2..]);
            for (int i = 0; i < 8; i++)
            {
                int scale = ((block[4 + (i / 2)] >> (4 * (i % 2))) & 0x0F) | (((scalesHigh >> (2 * i)) & 3) << 4);
                float dl = d * (scale - 32);
                ReadOnlySpan<byte> qs = block.Slice(8 + (16 * i), 16);
                Span<float> o = y.Slice(32 * i, 32);
                for (int j = 0; j < 16; j++)
                {
                    o[j] = dl * grid[qs[j] & 0x0F];
                    o[j + 16] = dl * grid[qs[j] >> 4];
                }
            }
        }
    }
}
