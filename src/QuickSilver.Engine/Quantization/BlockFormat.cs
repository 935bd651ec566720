using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Quantization;

/// <summary>
/// One ggml tensor type as the engine reads it: how many values a block holds, how many bytes it takes, and the scalar
/// reference decoder (the definition every fast kernel is tested against).
/// </summary>
/// <param name="Type">The on-disk type code.</param>
/// <param name="BlockValues">Values per block (1 for F32/F16/BF16, 32 for the legacy quants and IQ4_NL, 256 for k-quants and IQ4_XS).</param>
/// <param name="BlockBytes">Bytes per block.</param>
/// <param name="Decode">The scalar reference decoder.</param>
public sealed record BlockFormat(GgufTensorType Type, int BlockValues, int BlockBytes, BlockDecode Decode)
{
    /// <summary>Bytes taken by <paramref name="values"/> values (a whole number of blocks).</summary>
    /// <exception cref="ArgumentException"><paramref name="values"/> is not a multiple of <see cref="BlockValues"/>.</exception>
    public long ByteCount(long values)
    {
        if (values < 0 || values % BlockValues != 0)
            throw new ArgumentException($"{values} values is not a whole number of {BlockValues}-value {Type} blocks.", nameof(values));
        return values / BlockValues * BlockBytes;
    }

    /// <summary>Decodes a span of whole blocks after checking that the lengths agree.</summary>
    /// <param name="blocks">Whole blocks.</param>
    /// <param name="destination">As many values as the blocks hold.</param>
    /// <exception cref="ArgumentException">The lengths disagree or are not whole blocks.</exception>
    public void DecodeChecked(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        if (ByteCount(destination.Length) != blocks.Length)
            throw new ArgumentException($"{blocks.Length} bytes of {Type} do not decode to {destination.Length} values.", nameof(blocks));
        Decode(blocks, destination);
    }
}
