using System.Buffers.Binary;

namespace QuickSilver.Engine.Loading;

/// <summary>Little-endian IEEE half and bfloat16 conversions to and from float32.</summary>
public static class HalfConversions
{
    /// <summary>Widens little-endian IEEE half values.</summary>
    /// <param name="source">2 bytes per value.</param>
    /// <param name="destination">One float per value.</param>
    public static void HalfToSingle(ReadOnlySpan<byte> source, Span<float> destination)
    {
        CheckLengths(source, destination);
        for (int i = 0; i < destination.Length; i++)
            destination[i] = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(source[(2 * i)..]));
    }

    /// <summary>Widens little-endian bfloat16 values (the top half of a float32).</summary>
    /// <param name="source">2 bytes per value.</param>
    /// <param name="destination">One float per value.</param>
    public static void BFloat16ToSingle(ReadOnlySpan<byte> source, Span<float> destination)
    {
        CheckLengths(source, destination);
        for (int i = 0; i < destination.Length; i++)
            destination[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(source[(2 * i)..]) << 16);
    }

    /// <summary>Rounds float32 values to IEEE half (round to nearest even) and writes them little-endian.</summary>
    /// <param name="source">Values to narrow.</param>
    /// <param name="destination">2 bytes per value.</param>
    public static void SingleToHalf(ReadOnlySpan<float> source, Span<byte> destination)
    {
        CheckLengths(destination, source);
        for (int i = 0; i < source.Length; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(destination[(2 * i)..], BitConverter.HalfToUInt16Bits((Half)source[i]));
    }

    /// <summary>Rounds float32 values to bfloat16 (round to nearest even, NaN kept quiet) and writes them little-endian.</summary>
    /// <param name="source">Values to narrow.</param>
    /// <param name="destination">2 bytes per value.</param>
    public static void SingleToBFloat16(ReadOnlySpan<float> source, Span<byte> destination)
    {
        CheckLengths(destination, source);
        for (int i = 0; i < source.Length; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(destination[(2 * i)..], SingleToBFloat16Bits(source[i]));
    }

    /// <summary>The bfloat16 bit pattern nearest to <paramref name="value"/>.</summary>
    public static ushort SingleToBFloat16Bits(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        uint roundingBias = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }

    private static void CheckLengths(ReadOnlySpan<byte> bytes, ReadOnlySpan<float> values)
    {
        if (bytes.Length < values.Length * 2L)
            throw new ArgumentException($"Need {values.Length * 2L} bytes for {values.Length} half values, got {bytes.Length}.", nameof(bytes));
    }
}
