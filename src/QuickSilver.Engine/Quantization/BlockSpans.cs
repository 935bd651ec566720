using System.Buffers.Binary;

namespace QuickSilver.Engine.Quantization;

/// <summary>Shared checks and field reads for the block decoders.</summary>
internal static class BlockSpans
{
    /// <summary>The number of whole blocks, after checking both spans hold exactly that many.</summary>
    public static int Count(int sourceBytes, int destinationValues, int blockValues, int blockBytes, string type)
    {
        if (destinationValues % blockValues != 0)
            throw new ArgumentException($"{destinationValues} values is not a whole number of {blockValues}-value {type} blocks.", "destination");
        int blocks = destinationValues / blockValues;
        if (sourceBytes != (long)blocks * blockBytes)
            throw new ArgumentException($"{blocks} {type} blocks take {(long)blocks * blockBytes} bytes, got {sourceBytes}.", "blocks");
        return blocks;
    }

    /// <summary>A little-endian IEEE half at <paramref name="offset"/>, widened.</summary>
    public static float Half(ReadOnlySpan<byte> block, int offset) =>
        (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(block[offset..]));
}
