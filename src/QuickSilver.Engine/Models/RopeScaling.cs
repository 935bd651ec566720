using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Models;

/// <summary>
/// RoPE frequency scaling in the form llama.cpp runs it: the angle of frequency i at position p is
/// p · <see cref="PositionScale"/> · θ^(−2i/hs) / factor_i, and cos/sin are multiplied by <see cref="AttentionFactor"/>.
/// Every scaling type a loader accepts (linear, llama3, longrope/su) is reduced to these numbers.
/// </summary>
public sealed record RopeScaling
{
    /// <summary>The scaling type as the checkpoint names it ("linear", "llama3", "longrope"), for messages.</summary>
    public required string Type { get; init; }
    /// <summary>Multiplies positions (linear scaling: 1/factor); 1 otherwise.</summary>
    public double PositionScale { get; init; } = 1.0;
    /// <summary>Per-frequency divisors (hs/2 values), or null: llama3's smoothed factors, GGUF's rope_freqs.weight, longrope's short factors.</summary>
    public float[]? FrequencyFactors { get; init; }
    /// <summary>longrope's long factors, used instead of <see cref="FrequencyFactors"/> when the context exceeds <see cref="OriginalMaxPositions"/>.</summary>
    public float[]? LongFrequencyFactors { get; init; }
    /// <summary>The pre-extension context (longrope's switch point), or 0.</summary>
    public int OriginalMaxPositions { get; init; }
    /// <summary>Multiplies cos and sin (longrope's √(1 + ln(s)/ln(original))); 1 otherwise.</summary>
    public double AttentionFactor { get; init; } = 1.0;

    /// <summary>The divisors a rotary table of <paramref name="positions"/> positions uses, or null.</summary>
    public float[]? FactorsFor(int positions) =>
        LongFrequencyFactors is not null && positions > OriginalMaxPositions ? LongFrequencyFactors : FrequencyFactors;

    /// <summary>Throws naming the field when a value is out of range.</summary>
    public void Validate(int headDim, string? source)
    {
        if (!(PositionScale > 0) || !double.IsFinite(PositionScale))
            throw new ModelFormatException(source, $"RoPE scaling '{Type}': position scale {PositionScale} must be positive and finite.");
        if (!(AttentionFactor > 0) || !double.IsFinite(AttentionFactor))
            throw new ModelFormatException(source, $"RoPE scaling '{Type}': attention factor {AttentionFactor} must be positive and finite.");
        Check(FrequencyFactors, "frequency factors");
        Check(LongFrequencyFactors, "long frequency factors");

        void Check(float[]? factors, string what)
        {
            if (factors is null) return;
            if (factors.Length != headDim / 2)
                throw new ModelFormatException(source, $"RoPE scaling '{Type}': {factors.Length} {what} given, the head width {headDim} needs {headDim / 2}.");
            if (factors.Any(f => !(f > 0) || !float.IsFinite(f)))
                throw new ModelFormatException(source, $"RoPE scaling '{Type}': {what} must be positive and finite.");
        }
    }

    /// <summary>
    /// Llama 3.1's smoothed factors, as transformers' <c>_compute_llama3_parameters</c> and llama.cpp's converter compute them:
    /// wavelengths shorter than original/high_freq_factor keep their frequency, longer than original/low_freq_factor are
    /// divided by <paramref name="factor"/>, and the band between is interpolated.
    /// </summary>
    public static float[] Llama3Factors(int headDim, double theta, double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions)
    {
        var factors = new float[headDim / 2];
        double lowWavelength = originalMaxPositions / lowFreqFactor, highWavelength = originalMaxPositions / highFreqFactor;
        for (int i = 0; i < factors.Length; i++)
        {
            double frequency = 1.0 / Math.Pow(theta, 2.0 * i / headDim);
            double wavelength = 2 * Math.PI / frequency;
            if (wavelength < highWavelength) factors[i] = 1f;
            else if (wavelength > lowWavelength) factors[i] = (float)factor;
            else
            {
                double smooth = ((originalMaxPositions / wavelength) - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                factors[i] = (float)(1.0 / (((1 - smooth) / factor) + smooth));
            }
        }
        return factors;
    }
}
