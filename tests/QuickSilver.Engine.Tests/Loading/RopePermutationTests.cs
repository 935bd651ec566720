using CsCheck;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Tests.Loading;

public sealed class RopePermutationTests
{
    [Fact]
    public void OneHead_OfWidthFour_MovesRowsAsHandComputed()
    {
        // Interleaved rows r0 r1 r2 r3 are pairs (r0,r1) (r2,r3); rotate-half wants first halves then second halves: r0 r2 r1 r3.
        float[] rows = [0, 0, 1, 1, 2, 2, 3, 3];
        Assert.Equal([0f, 0, 2, 2, 1, 1, 3, 3], RopePermutation.InterleavedToRotateHalf(rows, heads: 1, headDim: 4, columns: 2));
    }

    [Fact]
    public void Inverse_UndoesThePermutation()
    {
        Gen.Select(Gen.Int[1, 4], Gen.Int[1, 4], Gen.Int[1, 5]).Sample((heads, halfDim, columns) =>
        {
            int headDim = 2 * halfDim;
            float[] rows = Enumerable.Range(0, heads * headDim * columns).Select(i => (float)i).ToArray();
            float[] permuted = RopePermutation.InterleavedToRotateHalf(rows, heads, headDim, columns);
            Assert.Equal(rows, RopePermutation.RotateHalfToInterleaved(permuted, heads, headDim, columns));
            Assert.Equal(rows.Order(), permuted.Order());
            Assert.Equal(TinyLlama.ToRotateHalf(rows, heads, headDim, columns), permuted);
        }, iter: 200, threads: 1);
    }

    [Fact]
    public void BadArguments_Throw()
    {
        Assert.Throws<ArgumentException>(() => RopePermutation.InterleavedToRotateHalf(new float[6], 1, 3, 2));
        Assert.Throws<ArgumentException>(() => RopePermutation.InterleavedToRotateHalf(new float[5], 1, 4, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => RopePermutation.InterleavedToRotateHalf(new float[0], 0, 4, 2));
    }
}
