using System.Buffers.Binary;

namespace QuickSilver.Engine.Quantization;

#pragma warning disable CA1707 // ggml's type names keep their underscores so the mapping stays obvious.
/// <summary>
/// Q3_K: 256 values in 110 bytes, 3-bit codes in sixteen 16-value sub-blocks with signed 6-bit scales.
/// <code>
/// offset size field
///      0   32 hmask   third bit: bit k of hmask[l] belongs to element 32k + l
///     32   64 qs      low two bits, laid out as Q2_K's qs (half h, shift s, byte 32h + l)
///     96   12 scales  sixteen 6-bit scales: low nibbles in bytes 0..7 (scales 0..7 low, 8..15 high nibble),
///                     top two bits in bytes 8..11 (byte 8 + (i mod 4), bits 2·(i div 4))
///    108    2 d       f16 super-scale
/// x = d · (scale − 32) · (q − (hmask bit set ? 0 : 4))
/// </code>
/// </summary>
public static class BlockQ3_K
{
    /// <summary>Values per block.</summary>
    public const int Values = 256;
    /// <summary>Bytes per block.</summary>
    public const int Bytes = 110;

    /// <summary>Decodes whole blocks (see the class remarks for the layout).</summary>
    public static void Decode(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        int count = BlockSpans.Count(blocks.Length, destination.Length, Values, Bytes, "Q3_K");
        Span<int> scales = stackalloc int[16];
        for (int b = 0; b < count; b++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(b * Bytes, Bytes);
            Span<float> y = destination.Slice(b * Values, Values);
            ReadOnlySpan<byte> hmask = block[..32];
            UnpackScales(block.Slice(96, 12), scales);
            float d = BlockSpans.Half(block, 108);
            int sub = 0, o = 0, bit = 1;
            for (int half = 0; half < 2; half++)
            {
                ReadOnlySpan<byte> q = block.Slice(32 + (32 * half), 32);
                for (int shift = 0; shift < 8; shift += 2, bit <<= 1)
                {
                    for (int part = 0; part < 2; part++)
                    {
                        float dl = d * (scales[sub++] - 32);
                        for (int l = (16 * part); l < (16 * part) + 16; l++)
                            y[o++] = dl * (((q[l] >> shift) & 3) - ((hmask[l] & bit) != 0 ? 0 : 4));
                    }
                }
            }
        }
    }

    /// <summary>The sixteen unsigned 6-bit scales (0..63; the decoder subtracts 32).</summary>
    /// <param name="packed">The 12 scale bytes.</param>
    /// <param name="scales">Sixteen slots.</param>
    public static void UnpackScales(ReadOnlySpan<byte> packed, Span<int> scales)
    {
        uint high = BinaryPrimitives.ReadUInt32LittleEndian(packed[8..]);
        for (int i = 0; i < 16; i++)
        {
            int low = i < 8 ? packed[i] & 0x0F : packed[i - 8] >> 4;
            int top = (int)(high >> ((8 * (i % 4)) + (2 * (i / 4)))) & 3;
            scales[i] = low | (top << 4);
        }
    }
}
