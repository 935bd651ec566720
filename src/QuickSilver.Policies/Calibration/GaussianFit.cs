namespace QuickSilver.Policies.Calibration;

/// <summary>A normal distribution fitted by maximum likelihood (mean and population standard deviation, as scipy's <c>norm.fit</c>).</summary>
public sealed class GaussianFit
{
    private GaussianFit(double mean, double standardDeviation, int count)
    {
        Mean = mean;
        StandardDeviation = standardDeviation;
        Count = count;
    }

    /// <summary>The fitted mean μ.</summary>
    public double Mean { get; }

    /// <summary>The fitted standard deviation σ (divides by n, not n−1).</summary>
    public double StandardDeviation { get; }

    /// <summary>The number of non-NaN values fitted.</summary>
    public int Count { get; }

    /// <summary>Fits μ and σ to the non-NaN values.</summary>
    /// <param name="values">The sample.</param>
    /// <exception cref="ArgumentException">The sample has no non-NaN value, or contains an infinity.</exception>
    public static GaussianFit Fit(ReadOnlySpan<float> values)
    {
        var n = 0;
        double mean = 0, m2 = 0;
        foreach (var v in values)
        {
            if (float.IsNaN(v))
            {
                continue;
            }

            if (float.IsInfinity(v))
            {
                throw new ArgumentException("A Gaussian cannot be fitted to a sample containing an infinity.", nameof(values));
            }

            // Welford's update keeps the variance accurate for large samples with a large mean.
            n++;
            var delta = v - mean;
            mean += delta / n;
            m2 += delta * (v - mean);
        }

        if (n == 0)
        {
            throw new ArgumentException(values.IsEmpty ? "The sample is empty." : "The sample has only NaN values.", nameof(values));
        }

        return new GaussianFit(mean, Math.Sqrt(m2 / n), n);
    }

    /// <summary>The <paramref name="p"/>-th percentile of the fitted normal, μ + z_p·σ (the 95th is μ + 1.645σ).</summary>
    /// <param name="p">The percentile, strictly between 0 and 100.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is not in (0, 100).</exception>
    public double Percentile(double p)
    {
        if (!(p is > 0 and < 100))
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "A normal percentile must be strictly between 0 and 100.");
        }

        return Mean + (StandardNormal.InverseCdf(p / 100.0) * StandardDeviation);
    }
}
