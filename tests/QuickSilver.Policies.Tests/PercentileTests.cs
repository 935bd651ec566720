using CsCheck;
using QuickSilver.Policies.Calibration;

namespace QuickSilver.Policies.Tests;

public class PercentileTests
{
    private static readonly float[] OneToHundred = [.. Enumerable.Range(1, 100).Select(i => (float)i)];

    // numpy.percentile(numpy.arange(1, 101), p) with the default 'linear' method.
    [Theory]
    [InlineData(0, 1.0)]
    [InlineData(25, 25.75)]
    [InlineData(50, 50.5)]
    [InlineData(90, 90.1)]
    [InlineData(99, 99.01)]
    [InlineData(100, 100.0)]
    public void Matches_numpy_linear_on_1_to_100(double p, double expected) =>
        Assert.Equal(expected, Percentile.Compute(OneToHundred, p), 10);

    [Fact]
    public void Interpolates_between_neighbours_of_an_unsorted_sample()
    {
        // sorted [1,2,3,4]; p=40 → h = 3·0.4 = 1.2 → 2 + 0.2·(3−2)
        Assert.Equal(2.2, Percentile.Compute([4f, 1f, 3f, 2f], 40), 6);
        Assert.Equal(2.0, Percentile.Compute([3f, 1f, 2f], 50), 10);
    }

    [Fact]
    public void NaN_values_are_ignored()
    {
        Assert.Equal(2.2, Percentile.Compute([float.NaN, 4f, 1f, float.NaN, 3f, 2f], 40), 6);
    }

    [Fact]
    public void Infinities_are_kept()
    {
        Assert.Equal(float.PositiveInfinity, Percentile.Compute([1f, float.PositiveInfinity], 100));
        Assert.Equal(double.PositiveInfinity, Percentile.Compute([float.PositiveInfinity, float.PositiveInfinity], 50));
        Assert.Equal(1.0, Percentile.Compute([1f, float.PositiveInfinity], 0));
    }

    [Fact]
    public void A_single_value_is_every_percentile()
    {
        Assert.Equal(7.0, Percentile.Compute([7f], 0));
        Assert.Equal(7.0, Percentile.Compute([7f], 63.2));
        Assert.Equal(7.0, Percentile.Compute([7f], 100));
    }

    [Fact]
    public void Empty_or_all_NaN_samples_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => Percentile.Compute([], 50));
        Assert.Throws<ArgumentException>(() => Percentile.Compute([float.NaN, float.NaN], 50));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(100.5)]
    [InlineData(double.NaN)]
    public void Percentile_outside_0_to_100_is_rejected(double p) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Percentile.Compute([1f, 2f], p));

    [Fact]
    public void ComputeMany_agrees_with_Compute()
    {
        double[] ps = [0, 12.5, 25, 50, 77.7, 100];
        var many = Percentile.ComputeMany(OneToHundred, ps);
        for (var i = 0; i < ps.Length; i++)
        {
            Assert.Equal(Percentile.Compute(OneToHundred, ps[i]), many[i]);
        }
    }

    [Fact]
    public void Is_monotone_in_p_and_within_the_sample_range() =>
        Gen.Select(Gen.Float[-1000f, 1000f].Array[1, 40], Gen.Double[0, 100], Gen.Double[0, 100]).Sample((values, p1, p2) =>
        {
            var (lo, hi) = p1 <= p2 ? (p1, p2) : (p2, p1);
            var a = Percentile.Compute(values, lo);
            var b = Percentile.Compute(values, hi);
            return a <= b + 1e-9 && a >= values.Min() - 1e-9 && b <= values.Max() + 1e-9;
        });
}
