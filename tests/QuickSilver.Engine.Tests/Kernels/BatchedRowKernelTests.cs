using QuickSilver.Engine.Kernels;

namespace QuickSilver.Engine.Tests.Kernels;

/// <summary>
/// <c>FloatMatVec.MultiplyRows</c>: every (weight row, activation row) result is bit-identical to the one-row kernel,
/// whatever the number of rows and wherever the row sits (ragged row pairs, token pairs and column tails), and agrees with
/// the scalar reference.
/// </summary>
public sealed class BatchedRowKernelTests
{
    [Theory]
    [InlineData(1, 16, 1)]
    [InlineData(3, 64, 2)]
    [InlineData(7, 77, 3)]
    [InlineData(8, 200, 5)]
    [InlineData(5, 8, 4)]
    [InlineData(2, 143, 8)]
    public void Each_row_equals_the_single_row_kernel_bit_for_bit(int rows, int columns, int n)
    {
        var random = new Random(rows * 1000 + columns + n);
        var w = Enumerable.Range(0, rows * columns).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var x = Enumerable.Range(0, n * columns).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        foreach (int threads in new[] { 1, 2 })
        {
            var batched = new float[n * rows];
            unsafe
            {
                fixed (float* pw = w) FloatMatVec.MultiplyRows(pw, rows, columns, x, n, batched, threads);
            }
            for (int t = 0; t < n; t++)
            {
                var alone = new float[rows];
                FloatMatVec.Multiply(w, rows, columns, x.AsSpan(t * columns, columns), alone, threads);
                Assert.Equal(alone, batched.AsSpan(t * rows, rows).ToArray());
                var reference = RowOpsReference.MatVec(w, rows, columns, x.AsSpan(t * columns, columns));
                for (int r = 0; r < rows; r++) Assert.True(Math.Abs(reference[r] - alone[r]) < 1e-4f, $"row {r}, token {t}");
            }
        }
    }

    [Fact]
    public void Short_inputs_are_rejected()
    {
        var w = new float[4 * 16];
        unsafe
        {
            fixed (float* pw = w)
            {
                float* p = pw;
                Assert.Throws<ArgumentException>(() => FloatMatVec.MultiplyRows(p, 4, 16, new float[16], 2, new float[8], 1));
                Assert.Throws<ArgumentException>(() => FloatMatVec.MultiplyRows(p, 4, 16, new float[32], 2, new float[7], 1));
                Assert.Throws<ArgumentOutOfRangeException>(() => FloatMatVec.MultiplyRows(p, 4, 16, new float[32], 0, new float[8], 1));
            }
        }
    }
}
