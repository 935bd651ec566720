namespace QuickSilver.Policies;

/// <summary>Adaptive Matryoshka quantization (paper 2.5, E): per-token 8/4/2 bits chosen by entropy at a decision layer.</summary>
public sealed class QuantizationPolicy
{
    /// <summary>Whether quantization is on.</summary>
    public bool Enabled { get; set; }
    /// <summary>Block count (1-based) after which entropy is read and bits assigned; null means the middle layer.</summary>
    public int? DecisionLayer { get; set; }
    /// <summary>How entropy is normalized before the thresholds.</summary>
    public EntropyNormalization Normalization { get; set; } = EntropyNormalization.LogVocab;
    /// <summary>τ_low: below it a token gets <see cref="LowBits"/>.</summary>
    public float LowThreshold { get; set; }
    /// <summary>τ_high: above it a token gets 8 bits; between the two, <see cref="MidBits"/>.</summary>
    public float HighThreshold { get; set; }
    /// <summary>Bits for the low band (2 in the paper).</summary>
    public int LowBits { get; set; } = 2;
    /// <summary>Bits for the middle band (4 in the paper).</summary>
    public int MidBits { get; set; } = 4;
    /// <summary>Bits for the high band (8).</summary>
    public int HighBits { get; set; } = 8;
    /// <summary>Group size of the group-wise scales.</summary>
    public int GroupSize { get; set; } = 32;
    /// <summary>Quantize hidden-state activations from the decision layer onward.</summary>
    public bool QuantizeActivations { get; set; } = true;
    /// <summary>
    /// Read the weights of the layers after the decision layer at each token's bit width: with a model loaded with
    /// nested bit planes (8-bit weights split into 2+2+4-bit planes), a 4-bit token reads half the weight bytes and a
    /// 2-bit token a quarter. Matrices not held as bit planes are read in full. Off by default.
    /// </summary>
    public bool QuantizeWeights { get; set; }
    /// <summary>
    /// With <see cref="QuantizeWeights"/>, also read the output head at each token's bit width (when the model holds it as
    /// bit planes). The paper's decision covers the blocks after the decision layer and the head is not one of them, so
    /// this goes beyond the paper's policy: off by default (the head is then read at full width for every token).
    /// </summary>
    public bool QuantizeHead { get; set; }
    /// <summary>Store the K/V these tokens write packed at their bit width.</summary>
    public bool QuantizeKv { get; set; } = true;
    /// <summary>Force 8 bits for number tokens.</summary>
    public bool ProtectNumbers { get; set; } = true;
    /// <summary>Force 8 bits for rare tokens: ids at or above this fraction of the vocabulary (BPE ids are roughly frequency-ranked). Null disables.</summary>
    public float? RareTokenIdFraction { get; set; } = 0.9f;

    /// <summary>The effective decision layer: <see cref="DecisionLayer"/>, or the middle layer ⌊L/2⌋ (at least 1) when it is null, as the paper's "layer 15 of 30".</summary>
    /// <param name="numLayers">The model depth L.</param>
    public int ResolveDecisionLayer(int numLayers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numLayers, 1);
        return DecisionLayer ?? Math.Max(1, numLayers / 2);
    }

    /// <summary>The bit width for a token whose (normalized) entropy is <paramref name="entropy"/>: <see cref="LowBits"/> below τ_low, <see cref="HighBits"/> above τ_high, else <see cref="MidBits"/> (paper E.2; both bounds of the middle band are inclusive).</summary>
    /// <param name="entropy">The entropy after <see cref="Normalization"/>.</param>
    public int BitsFor(float entropy)
    {
        if (float.IsNaN(entropy))
        {
            return HighBits;
        }

        return entropy < LowThreshold ? LowBits : entropy > HighThreshold ? HighBits : MidBits;
    }

    /// <summary>Creates a copy.</summary>
    public QuantizationPolicy Clone() => (QuantizationPolicy)MemberwiseClone();
}
