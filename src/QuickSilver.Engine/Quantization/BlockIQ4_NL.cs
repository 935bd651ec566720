namespace QuickSilver.Engine.Quantization;

#pragma warning disable CA1707 // ggml's type names keep their underscores so the mapping stays obvious.
/// <summary>
/// IQ4_NL: 32 values in 18 bytes, 4-bit indices into a fixed non-linear grid.
/// <code>
/// offset size field
///      0    2 d      f16 scale
///      2   16 qs     nibbles: low nibble of qs[j] indexes element j, high nibble element j + 16
/// x = d · Grid[q]
/// </code>
/// </summary>
public static class BlockIQ4_NL
{
    /// <summary>Values per block.</summary>
    public const int Values = 32;
    /// <summary>Bytes per block.</summary>
    public const int Bytes = 18;

    /// <summary>ggml's <c>kvalues_iq4nl</c>: the 16 levels, denser near zero where weights cluster.</summary>
    public static ReadOnlySpan<sbyte> Grid => [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

    /// <summary>Decodes whole blocks (see the class remarks for the layout).</summary>
    public static void Decode(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        int count = BlockSpans.Count(blocks.Length, destination.Length, Values, Bytes, "IQ4_NL");
        ReadOnlySpan<sbyte> grid = Grid;
        for (int b = 0; b < count; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = destination.Slice(b * Values, Values);
            float d = BlockSpans.Half(block, 0);
            ReadOnlySpan<byte> qs = block[2..];
            for (int j = 0; j < 16; j++)
            {
                y[j] = d * grid[qs[j] & 0x0F];
                y[j + 16] = d * grid[qs[j] >> 4];
            }
        }
    }
}
