namespace QuickSilver.Engine.Quantization;

#pragma warning disable CA1707 // ggml's type names keep their underscores so the mapping stays obvious.
/// <summary>
/// Q4_K: 256 values in 144 bytes, 4-bit codes in eight 32-value sub-blocks, each with a 6-bit scale and a 6-bit min.
/// <code>
/// offset size field
///      0    2 d       f16 super-scale of the scales
///      2    2 dmin    f16 super-scale of the mins
///      4   12 scales  packed 6-bit (scale, min) pairs, see <see cref="KQuantScales"/>
///     16  128 qs      for chunk c (0..3, 64 values): low nibbles of qs[32c .. 32c + 31] are sub-block 2c,
///                     high nibbles sub-block 2c + 1
/// x = d · scale · q − dmin · min
/// </code>
/// </summary>
public static class BlockQ4_K
{
    /// <summary>Values per block.</summary>
    public const int Values = 256;
    /// <summary>Bytes per block.</summary>
    public const int Bytes = 144;

    /// <summary>Decodes whole blocks (see the class remarks for the layout).</summary>
    public static void Decode(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        int count = BlockSpans.Count(blocks.Length, destination.Length, Values, Bytes, "Q4_K");
        for (int b = 0; b < count; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = destination.Slice(b * Values, Values);
            float d = BlockSpans.Half(block, 0), min = BlockSpans.Half(block, 2);
            ReadOnlySpan<byte> scales = block.Slice(4, KQuantScales.Bytes);
            for (int chunk = 0; chunk < 4; chunk++)
            {
                ReadOnlySpan<byte> q = block.Slice(16 + (32 * chunk), 32);
                (int sc1, int m1) = KQuantScales.ScaleMin(2 * chunk, scales);
                (int sc2, int m2) = KQuantScales.ScaleMin((2 * chunk) + 1, scales);
                float d1 = d * sc1, min1 = min * m1, d2 = d * sc2, min2 = min * m2;
                Span<float> out1 = y.Slice(64 * chunk, 32), out2 = y.Slice((64 * chunk) + 32, 32);
                for (int l = 0; l < 32; l++)
                {
                    out1[l] = (d1 * (q[l] & 0x0F)) - min1;
                    out2[l] = (d2 * (q[l] >> 4)) - min2;
                }
            }
        }
    }
}
