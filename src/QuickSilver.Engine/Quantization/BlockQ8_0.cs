namespace QuickSilver.Engine.Quantization;

#pragma warning disable CA1707 // ggml's type names keep their underscores so the mapping stays obvious.
/// <summary>
/// Q8_0: 32 values in 34 bytes, symmetric 8-bit.
/// <code>
/// offset size field
///      0    2 d      f16 scale
///      2   32 qs     int8 codes, element j = qs[j]
/// x = q · d
/// </code>
/// </summary>
public static class BlockQ8_0
{
    /// <summary>Values per block.</summary>
    public const int Values = 32;
    /// <summary>Bytes per block.</summary>
    public const int Bytes = 34;

    /// <summary>Decodes whole blocks (see the class remarks for the layout).</summary>
    public static void Decode(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        int count = BlockSpans.Count(blocks.Length, destination.Length, Values, Bytes, "Q8_0");
        for (int b = 0; b < count; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = destination.Slice(b * Values, Values);
            float d = BlockSpans.Half(block, 0);
            for (int j = 0; j < Values; j++) y[j] = (sbyte)block[2 + j] * d;
        }
    }
}
