using QuickSilver.Engine.Kernels;
using System.Runtime.Intrinsics;

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

    /// <summary>
    /// The tiles (4 weight rows × 4, 2 or 1 activation rows) and the rows they leave: weight-row counts that leave 1–3 rows
    /// after the quads (and thread splits that cut quads), activation-row counts that leave 1–3 rows, columns with a scalar
    /// tail after the 16-value blocks, and fewer than 16 columns (the scalar path).
    /// </summary>
    [Theory]
    [InlineData(4, 16, 4)]
    [InlineData(5, 229, 5)]
    [InlineData(6, 48, 6)]
    [InlineData(7, 31, 7)]
    [InlineData(9, 83, 8)]
    [InlineData(12, 1027, 9)]
    [InlineData(131, 211, 11)]
    [InlineData(3, 15, 6)]
    [InlineData(1030, 80, 12)] // enough values to split over threads, at row counts that cut quads
    public void Tiles_and_ragged_rows_equal_the_single_row_product_bit_for_bit(int rows, int columns, int count)
    {
        var w = Random(rows * columns, rows + columns);
        var x = Random(count * columns, count);
        var split = new float[count * rows];
        var oneThread = new float[count * rows];
        FloatMatVec.MultiplyRows(w, rows, columns, x, count, split, threads: 3);
        FloatMatVec.MultiplyRows(w, rows, columns, x, count, oneThread, threads: 1);
        Assert.Equal(oneThread, split);
        for (int n = 0; n < count; n++)
        {
            var single = new float[rows];
            FloatMatVec.Multiply(w, rows, columns, x.AsSpan(n * columns, columns), single, threads: 1);
            Assert.Equal(single, split.AsSpan(n * rows, rows).ToArray());
            var reference = RowOpsReference.MatVec(w, rows, columns, x.AsSpan(n * columns, columns));
            for (int r = 0; r < rows; r++) Assert.True(Math.Abs(reference[r] - split[(n * rows) + r]) <= 1e-4f * (1 + Math.Abs(reference[r])), $"row {r}: {split[(n * rows) + r]} vs {reference[r]}");
        }
    }

    /// <summary>
    /// The one-row product in the products' order, emulated in scalar code: one 16-lane accumulator of fused multiply-adds,
    /// the lane sum, then the scalar tail, so the order itself (not only batched = alone) is pinned down.
    /// </summary>
    [Theory]
    [InlineData(5, 16)]
    [InlineData(7, 53)]
    [InlineData(4, 8)]
    public void The_product_order_is_one_accumulator_then_the_tail(int rows, int columns)
    {
        var w = Random(rows * columns, 3);
        var x = Random(columns, 4);
        var y = new float[rows];
        FloatMatVec.Multiply(w, rows, columns, x, y, threads: 1);
        for (int r = 0; r < rows; r++)
        {
            float expected;
            if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated && columns >= 16)
            {
                var lanes = new float[16];
                int i = 0;
                for (; i + 16 <= columns; i += 16)
                    for (int l = 0; l < 16; l++) lanes[l] = MathF.FusedMultiplyAdd(w[(r * columns) + i + l], x[i + l], lanes[l]);
                expected = System.Runtime.Intrinsics.Vector512.Sum(System.Runtime.Intrinsics.Vector512.Create(lanes));
                for (; i < columns; i++) expected += w[(r * columns) + i] * x[i];
            }
            else expected = RowOps.Dot(w.AsSpan(r * columns, columns), x);
            Assert.Equal(expected, y[r]);
        }
    }

    [Fact]
    public void Lane_sums_of_several_vectors_have_the_bits_of_Vector512_Sum_on_each()
    {
        if (!LaneSums.IsSupported) return;
        var random = new Random(5);
        for (int trial = 0; trial < 200; trial++)
        {
            // Magnitudes 2^-20..2^20 with mixed signs: the order of the additions shows in the rounding.
            var v = new System.Runtime.Intrinsics.Vector512<float>[16];
            for (int k = 0; k < 16; k++)
                v[k] = System.Runtime.Intrinsics.Vector512.Create(Enumerable.Range(0, 16).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-20, 21)))).ToArray());
            var sixteen = LaneSums.Of16(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15]);
            var eight = LaneSums.Of8(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
            for (int k = 0; k < 16; k++)
            {
                int expected = BitConverter.SingleToInt32Bits(System.Runtime.Intrinsics.Vector512.Sum(v[k]));
                Assert.Equal(expected, BitConverter.SingleToInt32Bits(sixteen.GetElement(k)));
                if (k < 8) Assert.Equal(expected, BitConverter.SingleToInt32Bits(eight.GetElement(k)));
            }
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
