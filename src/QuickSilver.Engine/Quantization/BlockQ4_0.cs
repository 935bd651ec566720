namespace QuickSilver.Engine.Quantization;

#pragma warning disable CA1707 // ggml's type names keep their underscores so the mapping stays obvious.
/// <summary>
/// Q4_0: 32 values in 18 bytes, symmetric 4-bit.
/// <code>
/// offset size field
///      0    2 d      f16 scale
///      2   16 qs     nibbles: low nibble of qs[j] is element j, high nibble is element j + 16
/// x = (q − 8) · d
/// </code>
/// </summary>
public static class BlockQ4_0
{
    /// <summary>Values per block.</summary>
    public const int Values = 32;
    /// <summary>Bytes per block.</summary>
    public const int Bytes = 18;

    /// <summary>Decodes whole blocks (see the class remarks for the layout).</summary>
    public static void Decode(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        int count = BlockSpans.Count(blocks.Length, destination.Length, Values, Bytes, "Q4_0");
        for (int b = 0; b < count; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = destination.Slice(b * Values, Values);
            float d = BlockSpans.Half(block, 0);
            ReadOnlySpan<byte> qs = block[2..];
            for (int j = 0; j < 16; j++)
            {
                y[j] = ((qs[j] & 0x0F) - 8) * d;
                y[j + 16] = ((qs[j] >> 4) - 8) * d;
            }
        }
    }
}
