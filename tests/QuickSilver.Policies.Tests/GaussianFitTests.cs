using QuickSilver.Policies.Calibration;

namespace QuickSilver.Policies.Tests;

public class GaussianFitTests
{
    [Fact]
    public void Fits_mean_and_population_standard_deviation()
    {
        // mean 5; squared deviations 9,1,1,1,0,0,4,16 sum to 32; 32/8 = 4 → σ = 2.
        var fit = GaussianFit.Fit([2f, 4f, 4f, 4f, 5f, 5f, 7f, 9f, float.NaN]);
        Assert.Equal(5.0, fit.Mean, 12);
        Assert.Equal(2.0, fit.StandardDeviation, 12);
        Assert.Equal(8, fit.Count);
        Assert.Equal(5.0 + (2.0 * 1.6448536269514722), fit.Percentile(95), 8);
        Assert.Equal(5.0, fit.Percentile(50), 8);
    }

    [Fact]
    public void Recovers_the_parameters_of_normal_samples()
    {
        var samples = NormalSamples(20_000, mean: 0.3, sd: 0.05, seed: 42);
        var fit = GaussianFit.Fit(samples);
        Assert.Equal(0.3, fit.Mean, 0.002);
        Assert.Equal(0.05, fit.StandardDeviation, 0.002);
        Assert.Equal(0.3 + (1.6448536 * 0.05), fit.Percentile(95), 0.003);
    }

    [Fact]
    public void Bad_samples_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => GaussianFit.Fit([]));
        Assert.Throws<ArgumentException>(() => GaussianFit.Fit([float.NaN]));
        Assert.Throws<ArgumentException>(() => GaussianFit.Fit([1f, float.PositiveInfinity]));
        Assert.Throws<ArgumentOutOfRangeException>(() => GaussianFit.Fit([1f, 2f]).Percentile(100));
        Assert.Throws<ArgumentOutOfRangeException>(() => GaussianFit.Fit([1f, 2f]).Percentile(0));
    }

    // Reference quantiles of the standard normal (scipy.stats.norm.ppf).
    [Theory]
    [InlineData(0.5, 0.0)]
    [InlineData(0.95, 1.6448536269514722)]
    [InlineData(0.975, 1.959963984540054)]
    [InlineData(0.05, -1.6448536269514729)]
    [InlineData(0.001, -3.090232306167813)]
    [InlineData(0.999, 3.090232306167813)]
    [InlineData(0.15, -1.0364333894937898)]
    [InlineData(1e-6, -4.753424308822899)]
    public void Standard_normal_quantiles_are_accurate(double p, double z) =>
        Assert.Equal(z, StandardNormal.InverseCdf(p), 7);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(double.NaN)]
    public void Standard_normal_rejects_degenerate_probabilities(double p) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => StandardNormal.InverseCdf(p));

    internal static float[] NormalSamples(int count, double mean, double sd, int seed)
    {
        var random = new Random(seed);
        var samples = new float[count];
        for (var i = 0; i < count; i++)
        {
            // Box–Muller.
            var u1 = 1.0 - random.NextDouble();
            var u2 = random.NextDouble();
            samples[i] = (float)(mean + (sd * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2)));
        }

        return samples;
    }
}
