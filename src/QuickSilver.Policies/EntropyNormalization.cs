namespace QuickSilver.Policies;

/// <summary>How entropy is normalized before the bit-width thresholds.</summary>
public enum EntropyNormalization
{
    /// <summary>Min-max across the tokens of the batch (paper E.1).</summary>
    MinMax,
    /// <summary>Divided by log |V|, so the value is in [0, 1] independent of the batch.</summary>
    LogVocab,
    /// <summary>Raw entropy in nats (paper G.4's τ_low = 1.0, τ_high = 2.3).</summary>
    None,
}
