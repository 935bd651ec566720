using System.Runtime.Intrinsics;
using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Quantization;
using Xunit;

namespace QuickSilver.Engine.Tests.Kernels;

/// <summary>
/// The stored Q4_0 layout (<see cref="Q4_0Layout"/>: whole 16-block groups of a row transposed by 4-byte words, the rest
/// in GGUF order) and the activation order that meets it (<see cref="Q8Activations.Q4Order"/>), against their
/// definitions written out by index; the GGUF blocks come back unchanged for ragged block counts.
/// </summary>
public sealed unsafe class Q4_0LayoutTests
{
    private static readonly int[] BlockCounts = [1, 3, 15, 16, 17, 31, 32, 33, 47, 88];

    [Fact]
    public void StoredCodesFollowTheTransposedGroupsAndTheBlocksComeBack()
    {
        var random = new Random(31);
        foreach (int nb in BlockCounts)
        {
            const int Rows = 3;
            var blocks = new byte[Rows * nb * 18];
            random.NextBytes(blocks);
            for (int b = 0; b < Rows * nb; b++) BitConverter.TryWriteBytes(blocks.AsSpan(b * 18), (ushort)0x2C00);
            var matrix = QuantizedMatrix.FromGgufBlocks(GgufTensorType.Q4_0, Rows, nb * 32, blocks);
            Assert.Equal(blocks, matrix.ToGgufBlocks());
            int full = nb / 16 * 16;
            for (int r = 0; r < Rows; r++)
            {
                for (int b = 0; b < nb; b++)
                {
                    for (int i = 0; i < 16; i++)
                    {
                        int at = b < full ? (b / 16 * 256) + (i / 4 * 64) + (b % 16 * 4) + (i % 4) : (b * 16) + i;
                        Assert.Equal(blocks[(((r * nb) + b) * 18) + 2 + i], matrix.Codes[(r * nb * 16) + at]);
                    }
                    fixed (byte* row = &matrix.Codes[r * nb * 16])
                    {
                        var block = Q4_0Layout.LoadBlock(row, nb, b);
                        for (int i = 0; i < 16; i++) Assert.Equal(blocks[(((r * nb) + b) * 18) + 2 + i], block[i]);
                    }
                }
                // Row decoding and row views read the same layout.
                var decoded = new float[nb * 32];
                matrix.DequantizeRow(r, decoded);
                Assert.Equal(matrix.Dequantize().AsSpan(r * nb * 32, nb * 32).ToArray(), decoded);
                Assert.Equal(blocks.AsSpan(r * nb * 18, nb * 18).ToArray(), matrix.SliceRows(r, 1).ToGgufBlocks());
            }
            var expected = new float[Rows * nb * 32];
            BlockFormats.Get(GgufTensorType.Q4_0).Decode(blocks, expected);
            Assert.Equal(expected, matrix.Dequantize());
        }
    }

    [Fact]
    public void Q4OrderTransposesWholeGroupsAndKeepsTheTailInFours()
    {
        var random = new Random(32);
        foreach (int nb in BlockCounts)
        {
            int columns = nb * 32, full = nb / 16 * 16;
            var activations = new Q8Activations();
            activations.Quantize(Enumerable.Range(0, 2 * columns).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray(), 2, columns);
            for (int r = 0; r < 2; r++)
            {
                for (int j = 0; j < (nb + 3) / 4 * 4; j++)
                {
                    for (int i = 0; i < 32; i++)
                    {
                        sbyte expected = j < nb ? activations.Codes[(r * columns) + (j * 32) + i] : (sbyte)0;
                        int at = j < full
                            ? (j / 16 * 512) + (i / 4 * 64) + (j % 16 * 4) + (i % 4)
                            : (j / 4 * 128) + (j % 4 * 16) + (i < 16 ? i : 64 + i - 16);
                        Assert.Equal(expected, activations.Q4Order[(r * activations.Q4RowBytes) + at]);
                    }
                }
            }
        }
    }

    [Fact]
    public void HighNibblesAreTheShiftedBytes()
    {
        if (!DecodeMatVec.IsSupported) return;
        byte* bytes = stackalloc byte[256];
        for (int i = 0; i < 256; i++) bytes[i] = (byte)i;
        for (int first = 0; first < 256; first += 64)
        {
            var high = DecodeMatVec.HighNibbles(Vector512.Load(bytes + first));
            for (int i = 0; i < 64; i++) Assert.Equal((byte)((first + i) >> 4), high[i]);
        }
    }
}
