using System.Buffers.Binary;
using QuickSilver.Engine.Quantization;

namespace QuickSilver.Engine.Loading;

/// <summary>
/// The ggml block formats Q8_0 and Q4_0: blocks of 32 values sharing one IEEE-half scale <c>d</c>.
/// Q8_0 stores <c>d</c> then 32 int8 (<c>x = q·d</c>); Q4_0 stores <c>d</c> then 16 bytes whose low nibbles are
/// elements 0..15 and high nibbles elements 16..31 (<c>x = (q − 8)·d</c>).
/// </summary>
/// <remarks>
/// The quantizers follow ggml's reference choice of scale (Q8_0: <c>max|x|/127</c>; Q4_0: the signed extreme over −8)
/// but round the scale to half precision <em>before</em> quantizing, away from zero, so every stored value is within
/// <c>|d|/2</c> of its input for the scale actually stored (Q4_0: values above <c>7.5·|d|</c> on the side opposite the
/// extreme clip to 7 and err by at most <c>|d|</c>). The output decodes with any ggml implementation.
/// </remarks>
public static class GgmlQuantization
{
    /// <summary>Values per Q8_0/Q4_0 block.</summary>
    public const int BlockSize = 32;
    /// <summary>Bytes per Q8_0 block.</summary>
    public const int Q8_0BlockBytes = 2 + BlockSize;
    /// <summary>Bytes per Q4_0 block.</summary>
    public const int Q4_0BlockBytes = 2 + (BlockSize / 2);

    /// <summary>Quantizes whole blocks of 32 values to Q8_0.</summary>
    /// <param name="source">Length a multiple of 32.</param>
    /// <param name="destination">34 bytes per block.</param>
    public static void QuantizeQ8_0(ReadOnlySpan<float> source, Span<byte> destination)
    {
        int blocks = CheckBlocks(source.Length, destination.Length, Q8_0BlockBytes);
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<float> x = source.Slice(b * BlockSize, BlockSize);
            Span<byte> block = destination.Slice(b * Q8_0BlockBytes, Q8_0BlockBytes);
            float amax = 0;
            foreach (float v in x) amax = Math.Max(amax, Math.Abs(v));
            Half scale = RoundScaleAwayFromZero(amax / 127f);
            float d = (float)scale;
            float inverse = d != 0 ? 1f / d : 0f;
            BinaryPrimitives.WriteUInt16LittleEndian(block, BitConverter.HalfToUInt16Bits(scale));
            for (int i = 0; i < BlockSize; i++)
            {
                float q = MathF.Round(x[i] * inverse, MidpointRounding.AwayFromZero);
                block[2 + i] = (byte)(sbyte)Math.Clamp(q, -127f, 127f);
            }
        }
    }

    /// <summary>Decodes whole Q8_0 blocks (see <see cref="BlockQ8_0"/>).</summary>
    /// <param name="source">34 bytes per block.</param>
    /// <param name="destination">Length a multiple of 32.</param>
    public static void DequantizeQ8_0(ReadOnlySpan<byte> source, Span<float> destination)
    {
        int blocks = CheckBlocks(destination.Length, source.Length, Q8_0BlockBytes);
        BlockQ8_0.Decode(source[..(blocks * Q8_0BlockBytes)], destination);
    }

    /// <summary>Quantizes whole blocks of 32 values to Q4_0.</summary>
    /// <param name="source">Length a multiple of 32.</param>
    /// <param name="destination">18 bytes per block.</param>
    public static void QuantizeQ4_0(ReadOnlySpan<float> source, Span<byte> destination)
    {
        int blocks = CheckBlocks(source.Length, destination.Length, Q4_0BlockBytes);
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<float> x = source.Slice(b * BlockSize, BlockSize);
            Span<byte> block = destination.Slice(b * Q4_0BlockBytes, Q4_0BlockBytes);
            float amax = 0, extreme = 0;
            foreach (float v in x)
            {
                if (Math.Abs(v) > amax)
                {
                    amax = Math.Abs(v);
                    extreme = v;
                }
            }
            Half scale = RoundScaleAwayFromZero(extreme / -8f);
            float d = (float)scale;
            float inverse = d != 0 ? 1f / d : 0f;
            BinaryPrimitives.WriteUInt16LittleEndian(block, BitConverter.HalfToUInt16Bits(scale));
            for (int i = 0; i < BlockSize / 2; i++)
            {
                int low = Nibble(x[i] * inverse);
                int high = Nibble(x[i + (BlockSize / 2)] * inverse);
                block[2 + i] = (byte)(low | (high << 4));
            }
        }

        static int Nibble(float scaled) => (int)Math.Clamp(MathF.Floor(scaled + 8.5f), 0f, 15f);
    }

    /// <summary>Decodes whole Q4_0 blocks (see <see cref="BlockQ4_0"/>).</summary>
    /// <param name="source">18 bytes per block.</param>
    /// <param name="destination">Length a multiple of 32.</param>
    public static void DequantizeQ4_0(ReadOnlySpan<byte> source, Span<float> destination)
    {
        int blocks = CheckBlocks(destination.Length, source.Length, Q4_0BlockBytes);
        BlockQ4_0.Decode(source[..(blocks * Q4_0BlockBytes)], destination);
    }

    /// <summary>The half-precision scale nearest <paramref name="scale"/> whose magnitude is not smaller, so no value leaves the code range.</summary>
    private static Half RoundScaleAwayFromZero(float scale)
    {
        Half rounded = (Half)scale;
        if (Math.Abs((float)rounded) < Math.Abs(scale) && !Half.IsInfinity(rounded))
            rounded = BitConverter.UInt16BitsToHalf((ushort)(BitConverter.HalfToUInt16Bits(rounded) + 1));
        return rounded;
    }

    private static int CheckBlocks(int values, int bytes, int blockBytes)
    {
        if (values % BlockSize != 0)
            throw new ArgumentException($"Value count {values} is not a multiple of the block size {BlockSize}.", nameof(values));
        int blocks = values / BlockSize;
        if (bytes < (long)blocks * blockBytes)
            throw new ArgumentException($"Need {(long)blocks * blockBytes} bytes for {blocks} blocks, got {bytes}.", nameof(bytes));
        return blocks;
    }
}
