using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Loading;
using Xunit;

namespace QuickSilver.Engine.Tests.Kernels;

/// <summary>The repacked block layout: same bytes as GGUF, row operations that keep every block intact.</summary>
public sealed class QuantizedMatrixTests
{
    [Theory]
    [InlineData(GgufTensorType.Q8_0)]
    [InlineData(GgufTensorType.Q4_0)]
    public void RepackingKeepsTheGgufBytesAndSize(GgufTensorType type)
    {
        var random = new Random(1);
        float[] values = QuantizedKernelTests.RandomValues(random, 6 * 64, 1f);
        var blocks = new byte[6 * 2 * QuantizedMatrix.BlockBytes(type)];
        if (type == GgufTensorType.Q8_0) GgmlQuantization.QuantizeQ8_0(values, blocks);
        else GgmlQuantization.QuantizeQ4_0(values, blocks);
        var matrix = QuantizedMatrix.FromGgufBlocks(type, 6, 64, blocks);
        Assert.Equal(blocks, matrix.ToGgufBlocks());
        Assert.Equal(blocks.Length, matrix.ByteSize);
        var decoded = new float[values.Length];
        if (type == GgufTensorType.Q8_0) GgmlQuantization.DequantizeQ8_0(blocks, decoded);
        else GgmlQuantization.DequantizeQ4_0(blocks, decoded);
        Assert.Equal(decoded, matrix.Dequantize());
        var row = new float[64];
        matrix.DequantizeRow(4, row);
        Assert.Equal(decoded.AsSpan(4 * 64, 64).ToArray(), row);
    }

    [Fact]
    public void PermuteSliceAndConcatMoveWholeRows()
    {
        var random = new Random(2);
        var a = QuantizedMatrix.Quantize(GgufTensorType.Q4_0, 4, 32, QuantizedKernelTests.RandomValues(random, 128, 1f));
        var b = QuantizedMatrix.Quantize(GgufTensorType.Q4_0, 3, 32, QuantizedKernelTests.RandomValues(random, 96, 1f));
        float[] da = a.Dequantize(), db = b.Dequantize();
        var both = QuantizedMatrix.ConcatRows([a, b]);
        Assert.Equal(da.Concat(db).ToArray(), both.Dequantize());
        var slice = both.SliceRows(3, 2);
        Assert.Equal(da.Skip(96).Concat(db.Take(32)).ToArray(), slice.Dequantize());
        var permuted = slice.PermuteRows([1, 0]);
        Assert.Equal(db.Take(32).Concat(da.Skip(96)).ToArray(), permuted.Dequantize());
        Assert.Equal(slice.Dequantize(), QuantizedMatrix.ConcatRows([slice]).Dequantize());
        Assert.Throws<ArgumentException>(() => QuantizedMatrix.ConcatRows([a, QuantizedMatrix.Quantize(GgufTensorType.Q8_0, 1, 32, new float[32])]));
        Assert.Throws<ArgumentOutOfRangeException>(() => both.SliceRows(6, 2));
    }
}
