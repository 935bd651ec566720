using QuickSilver.Engine.Kernels;

namespace QuickSilver.Engine.Tests.Kernels;

public sealed class FloatMatVecRowsTests
{
    private static float[] Random(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
    }

    [Theory]
    [InlineData(1, 7, 1)]
    [InlineData(5, 33, 2)]
    [InlineData(13, 70, 3)]
    [InlineData(64, 129, 7)]
    [InlineData(300, 257, 31)]
    [InlineData(2048, 64, 4)] // enough values to split over threads
    public void Every_row_equals_the_single_row_product_bit_for_bit(int rows, int columns, int count)
    {
        var w = Random(rows * columns, 1);
        var x = Random(count * columns, 2);
        var y = new float[count * rows];
        FloatMatVec.MultiplyRows(w, rows, columns, x, count, y, threads: 4);
        for (int n = 0; n < count; n++)
        {
            var single = new float[rows];
            FloatMatVec.Multiply(w, rows, columns, x.AsSpan(n * columns, columns), single, threads: 1);
            Assert.Equal(single, y.AsSpan(n * rows, rows).ToArray()); // exact, whatever the row's place in the call
            var reference = RowOpsReference.MatVec(w, rows, columns, x.AsSpan(n * columns, columns));
            for (int r = 0; r < rows; r++) Assert.True(Math.Abs(reference[r] - y[(n * rows) + r]) <= 1e-4f * (1 + Math.Abs(reference[r])), $"row {r}: {y[(n * rows) + r]} vs {reference[r]}");
        }
    }

    [Fact]
    public void Short_spans_are_rejected_with_the_shape()
    {
        var e = Assert.Throws<ArgumentException>(() => FloatMatVec.MultiplyRows(new float[6], 2, 3, new float[5], 2, new float[4], 1));
        Assert.Contains("Activations need 6", e.Message);
        e = Assert.Throws<ArgumentException>(() => FloatMatVec.MultiplyRows(new float[6], 2, 3, new float[6], 2, new float[3], 1));
        Assert.Contains("Output needs 4", e.Message);
    }
}
