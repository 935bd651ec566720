namespace QuickSilver.Engine.Quantization;

#pragma warning disable CA1707 // ggml's type names keep their underscores so the mapping stays obvious.
/// <summary>
/// Q4_1: 32 values in 20 bytes, 4-bit with an offset.
/// <code>
/// offset size field
///      0    2 d      f16 scale
///      2    2 m      f16 minimum
///      4   16 qs     nibbles: low nibble of qs[j] is element j, high nibble is element j + 16
/// x = q · d + m
/// </code>
/// </summary>
public static class BlockQ4_1
{
    /// <summary>Values per block.</summary>
    public const int Values = 32;
    /// <summary>Bytes per block.</summary>
    public const int Bytes = 20;

    /// <summary>Decodes whole blocks (see the class remarks for the layout).</summary>
    public static void Decode(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        int count = BlockSpans.Count(blocks.Length, destination.Length, Values, Bytes, "Q4_1");
        for (int b = 0; b < count; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = destination.Slice(b * Values, Values);
            float d = BlockSpans.Half(block, 0), m = BlockSpans.Half(block, 2);
            ReadOnlySpan<byte> qs = block[4..];
            for (int j = 0; j < 16; j++)
            {
                y[j] = ((qs[j] & 0x0F) * d) + m;
                y[j + 16] = ((qs[j] >> 4) * d) + m;
            }
        }
    }
}
