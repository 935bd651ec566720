using System.Buffers.Binary;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Quantization;

/// <summary>F32, F16 and BF16 as "blocks" of one value, so the loader treats every type alike.</summary>
public static class PlainFloats
{
    /// <summary>Little-endian float32.</summary>
    public static void DecodeF32(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        BlockSpans.Count(blocks.Length, destination.Length, 1, 4, "F32");
        for (int i = 0; i < destination.Length; i++) destination[i] = BinaryPrimitives.ReadSingleLittleEndian(blocks[(4 * i)..]);
    }

    /// <summary>Little-endian IEEE half.</summary>
    public static void DecodeF16(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        BlockSpans.Count(blocks.Length, destination.Length, 1, 2, "F16");
        HalfConversions.HalfToSingle(blocks, destination);
    }

    /// <summary>Little-endian bfloat16 (the top 16 bits of a float32).</summary>
    public static void DecodeBF16(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        BlockSpans.Count(blocks.Length, destination.Length, 1, 2, "BF16");
        HalfConversions.BFloat16ToSingle(blocks, destination);
    }
}
