namespace QuickSilver.Engine.Quantization;

#pragma warning disable CA1707 // ggml's type names keep their underscores so the mapping stays obvious.
/// <summary>
/// Q2_K: 256 values in 84 bytes, 2-bit codes in sixteen 16-value sub-blocks, each with a 4-bit scale and a 4-bit min.
/// <code>
/// offset size field
///      0   16 scales  byte i: low nibble scale, high nibble min of sub-block i
///     16   64 qs      2-bit codes; see below
///     80    2 d       f16 super-scale of the scales
///     82    2 dmin    f16 super-scale of the mins
/// For half h (0..1, 128 values each, qs[32h .. 32h + 31]) and shift s (0..3):
///   element 128h + 32s + l      = bits 2s..2s+1 of qs[32h + l],      sub-block 8h + 2s      (l = 0..15)
///   element 128h + 32s + 16 + l = bits 2s..2s+1 of qs[32h + 16 + l], sub-block 8h + 2s + 1
/// x = d · scale · q − dmin · min
/// </code>
/// </summary>
public static class BlockQ2_K
{
    /// <summary>Values per block.</summary>
    public const int Values = 256;
    /// <summary>Bytes per block.</summary>
    public const int Bytes = 84;

    /// <summary>Decodes whole blocks (see the class remarks for the layout).</summary>
    public static void Decode(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        int count = BlockSpans.Count(blocks.Length, destination.Length, Values, Bytes, "Q2_K");
        for (int b = 0; b < count; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = destination.Slice(b * Values, Values);
            ReadOnlySpan<byte> scales = block[..16];
            float d = BlockSpans.Half(block, 80), min = BlockSpans.Half(block, 82);
            int sub = 0, o = 0;
            for (int half = 0; half < 2; half++)
            {
                ReadOnlySpan<byte> q = block.Slice(16 + (32 * half), 32);
                for (int shift = 0; shift < 8; shift += 2)
                {
                    for (int part = 0; part < 2; part++)
                    {
                        byte sc = scales[sub++];
                        float dl = d * (sc & 0x0F), ml = min * (sc >> 4);
                        for (int l = 0; l < 16; l++) y[o++] = (dl * ((q[(16 * part) + l] >> shift) & 3)) - ml;
                    }
                }
            }
        }
    }
}
