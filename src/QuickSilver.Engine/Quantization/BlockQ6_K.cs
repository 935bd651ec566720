namespace QuickSilver.Engine.Quantization;

#pragma warning disable CA1707 // ggml's type names keep their underscores so the mapping stays obvious.
/// <summary>
/// Q6_K: 256 values in 210 bytes, symmetric 6-bit codes in sixteen 16-value sub-blocks with int8 scales.
/// <code>
/// offset size field
///      0  128 ql      low four bits
///    128   64 qh      high two bits
///    192   16 scales  int8 scale per sub-block
///    208    2 d       f16 super-scale
/// For half h (0..1, 128 values; ql[64h ..], qh[32h ..]) and l = 0..31:
///   element 128h + l      = ql[64h + l]      low nibble  | bits 0..1 of qh[32h + l] &lt;&lt; 4
///   element 128h + 32 + l = ql[64h + 32 + l] low nibble  | bits 2..3 of qh[32h + l] &lt;&lt; 4
///   element 128h + 64 + l = ql[64h + l]      high nibble | bits 4..5 of qh[32h + l] &lt;&lt; 4
///   element 128h + 96 + l = ql[64h + 32 + l] high nibble | bits 6..7 of qh[32h + l] &lt;&lt; 4
///   element e uses scale[e / 16]
/// x = d · scale · (q − 32)
/// </code>
/// </summary>
public static class BlockQ6_K
{
    /// <summary>Values per block.</summary>
    public const int Values = 256;
    /// <summary>Bytes per block.</summary>
    public const int Bytes = 210;

    /// <summary>Decodes whole blocks (see the class remarks for the layout).</summary>
    public static void Decode(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        int count = BlockSpans.Count(blocks.Length, destination.Length, Values, Bytes, "Q6_K");
        for (int b = 0; b < count; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = destination.Slice(b * Values, Values);
            float d = BlockSpans.Half(block, 208);
            for (int half = 0; half < 2; half++)
            {
                ReadOnlySpan<byte> ql = block.Slice(64 * half, 64);
                ReadOnlySpan<byte> qh = block.Slice(128 + (32 * half), 32);
                ReadOnlySpan<byte> sc = block.Slice(192 + (8 * half), 8);
                Span<float> o = y.Slice(128 * half, 128);
                for (int l = 0; l < 32; l++)
                {
                    int s = l / 16;
                    int q1 = ((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) - 32;
                    int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    o[l] = d * (sbyte)sc[s] * q1;
                    o[l + 32] = d * (sbyte)sc[s + 2] * q2;
                    o[l + 64] = d * (sbyte)sc[s + 4] * q3;
                    o[l + 96] = d * (sbyte)sc[s + 6] * q4;
                }
            }
        }
    }
}
