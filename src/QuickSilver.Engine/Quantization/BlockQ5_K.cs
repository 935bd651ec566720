namespace QuickSilver.Engine.Quantization;

#pragma warning disable CA1707 // ggml's type names keep their underscores so the mapping stays obvious.
/// <summary>
/// Q5_K: 256 values in 176 bytes, Q4_K plus a fifth bit per value.
/// <code>
/// offset size field
///      0    2 d       f16 super-scale of the scales
///      2    2 dmin    f16 super-scale of the mins
///      4   12 scales  packed 6-bit (scale, min) pairs, see <see cref="KQuantScales"/>
///     16   32 qh      fifth bits: bit k of qh[l] belongs to element 32k + l (sub-block k)
///     48  128 qs      low four bits, laid out as Q4_K's qs
/// x = d · scale · q − dmin · min
/// </code>
/// </summary>
public static class BlockQ5_K
{
    /// <summary>Values per block.</summary>
    public const int Values = 256;
    /// <summary>Bytes per block.</summary>
    public const int Bytes = 176;

    /// <summary>Decodes whole blocks (see the class remarks for the layout).</summary>
    public static void Decode(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        int count = BlockSpans.Count(blocks.Length, destination.Length, Values, Bytes, "Q5_K");
        for (int b = 0; b < count; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = destination.Slice(b * Values, Values);
            float d = BlockSpans.Half(block, 0), min = BlockSpans.Half(block, 2);
            ReadOnlySpan<byte> scales = block.Slice(4, KQuantScales.Bytes);
            ReadOnlySpan<byte> qh = block.Slice(16, 32);
            for (int chunk = 0; chunk < 4; chunk++)
            {
                ReadOnlySpan<byte> q = block.Slice(48 + (32 * chunk), 32);
                (int sc1, int m1) = KQuantScales.ScaleMin(2 * chunk, scales);
                (int sc2, int m2) = KQuantScales.ScaleMin((2 * chunk) + 1, scales);
                float d1 = d * sc1, min1 = min * m1, d2 = d * sc2, min2 = min * m2;
                int bit1 = 1 << (2 * chunk), bit2 = 2 << (2 * chunk);
                Span<float> out1 = y.Slice(64 * chunk, 32), out2 = y.Slice((64 * chunk) + 32, 32);
                for (int l = 0; l < 32; l++)
                {
                    out1[l] = (d1 * ((q[l] & 0x0F) + ((qh[l] & bit1) != 0 ? 16 : 0))) - min1;
                    out2[l] = (d2 * ((q[l] >> 4) + ((qh[l] & bit2) != 0 ? 16 : 0))) - min2;
                }
            }
        }
    }
}
