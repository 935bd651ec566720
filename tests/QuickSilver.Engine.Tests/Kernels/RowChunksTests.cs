using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;
using TorchSharp;

namespace QuickSilver.Engine.Tests.Kernels;

/// <summary>A prefill's rows split into pieces give the packed products' result of one call (see <see cref="RowChunks"/>).</summary>
public sealed class RowChunksTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(300)]
    [InlineData(512)]
    [InlineData(1000)]
    public void Pieces_tile_the_rows_start_aligned_and_are_never_below_the_gemm_threshold(long rows)
    {
        var pieces = RowChunks.Of(rows).ToList();
        long next = 0;
        foreach (var (start, count) in pieces)
        {
            Assert.Equal(next, start);
            Assert.Equal(0, start % 64);
            if (pieces.Count > 1) Assert.True(count >= RowChunks.PieceRows && count >= KernelSettings.GemmMinTokens);
            next += count;
        }
        Assert.Equal(rows, next);
        Assert.Equal(RowChunks.Splits(rows), pieces.Count > 1);
    }

    [Theory]
    [InlineData(300, 64)]
    [InlineData(127, 64)]
    [InlineData(128, 64)]
    [InlineData(1000, 192)]
    public void Pieces_of_a_given_size_tile_the_rows_start_aligned_and_the_tail_takes_the_remainder(long rows, long pieceRows)
    {
        var pieces = RowChunks.Of(rows, pieceRows).ToList();
        long next = 0;
        foreach (var (start, count) in pieces)
        {
            Assert.Equal(next, start);
            Assert.Equal(0, start % 64);
            if (pieces.Count > 1) Assert.InRange(count, pieceRows, (2 * pieceRows) - 1);
            next += count;
        }
        Assert.Equal(rows, next);
        Assert.Equal(rows >= 2 * pieceRows, pieces.Count > 1);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(96)]
    [InlineData(-64)]
    public void A_piece_size_that_is_not_a_positive_multiple_of_64_is_refused(long pieceRows) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RowChunks.Of(300, pieceRows).ToList());

    [Fact]
    public void Wanted_piece_sizes_round_up_to_64_and_the_gemm_threshold()
    {
        Assert.Equal(64, RowChunks.PieceRowsFor(1));
        Assert.Equal(64, RowChunks.PieceRowsFor(64));
        Assert.Equal(128, RowChunks.PieceRowsFor(65));
        Assert.Equal(RowChunks.PieceRows, RowChunks.PieceRowsFor(RowChunks.DefaultRows));
    }

    [Theory]
    [InlineData(GgufTensorType.Q8_0)]
    [InlineData(GgufTensorType.Q4_0)]
    public void A_split_product_equals_unsplit_calls_on_its_aligned_rows_bit_for_bit(GgufTensorType type)
    {
        var random = new Random(7);
        int rows = 300, columns = 256, outputs = 40;
        var matrix = QuantizedMatrix.Quantize(type, outputs, columns, QuantizedKernelTests.RandomValues(random, outputs * columns, 1f));
        using var weight = new PackedLinearWeight(matrix);
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(QuantizedKernelTests.RandomValues(random, rows * columns, 1f), [1, rows, columns]);
        Assert.True(RowChunks.Splits(rows));
        var whole = weight.Apply(x).data<float>().ToArray(); // split into pieces inside
        foreach (int first in new[] { 0, 64, 128, 192 })
        {
            // 64 rows in one call (no split, on the same kernel as every piece): its rows are the split product's rows.
            var part = weight.Apply(x.narrow(1, first, 64)).data<float>().ToArray();
            Assert.Equal(whole.AsSpan(first * outputs, 64 * outputs).ToArray(), part);
        }
    }
}

/// <summary>
/// The SiLU MLP of packed weights over host rows (per-thread buffers, down projection into the output rows) against the
/// same pieces composed from the tensor ops: gate|up product, SiLU·up per row, down product — bit for bit, split or not.
/// </summary>
public sealed class HostMlpTests
{
    [Theory]
    [InlineData(GgufTensorType.Q4_0, 300)]
    [InlineData(GgufTensorType.Q8_0, 100)]
    [InlineData(GgufTensorType.Q4_K, 300)]
    [InlineData(GgufTensorType.Q4_0, 5)]
    [InlineData(GgufTensorType.Q4_0, 200)]
    [InlineData(GgufTensorType.Q6_K, 520)]
    public void The_host_mlp_equals_its_pieces_through_the_tensor_ops(GgufTensorType type, int rows)
    {
        var random = new Random(11 + rows);
        int d = 256, inner = 512;
        QuantizedMatrix Random(int r, int c) => QuantizedMatrix.CanQuantizeTo(type)
            ? QuantizedMatrix.Quantize(type, r, c, QuantizedKernelTests.RandomValues(random, r * c, 0.5f))
            : PackedFormatKernelTests.RandomMatrix(random, type, r, c);
        using var gate = new PackedLinearWeight(Random(inner, d));
        using var up = new PackedLinearWeight(Random(inner, d));
        using var down = new PackedLinearWeight(Random(d, inner));
        using var gateUp = new PackedLinearWeight([gate.Matrix, up.Matrix]);
        var mlp = new SwiGluFeedForward(new PackedLinearWeight(gate.Matrix), null, new PackedLinearWeight(up.Matrix), null, new PackedLinearWeight(down.Matrix), null);
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(QuantizedKernelTests.RandomValues(random, rows * d, 1f), [1, rows, d]);
        float[] actual = mlp.Apply(x).data<float>().ToArray();
        Assert.Equal(rows * d, actual.Length);
        foreach (var (first, count) in RowChunks.Of(rows))
        {
            var both = gateUp.Apply(x.narrow(1, first, count)).data<float>().ToArray(); // (count, 2I)
            var product = new float[count * inner];
            for (int r = 0; r < count; r++)
                RowOps.SiluMul(both.AsSpan(r * 2 * inner, inner), both.AsSpan((r * 2 * inner) + inner, inner), product.AsSpan(r * inner, inner));
            var expected = down.Apply(torch.tensor(product, [count, inner])).data<float>().ToArray();
            Assert.Equal(expected, actual.AsSpan((int)first * d, (int)count * d).ToArray());
        }
    }
}
