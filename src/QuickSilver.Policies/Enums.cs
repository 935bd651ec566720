namespace QuickSilver.Policies;

/// <summary>How layerwise drift is measured.</summary>
public enum DriftMode
{
    /// <summary>‖h(ℓ) − h(ℓ−1)‖₂ (the paper's definition).</summary>
    Absolute,
    /// <summary>‖h(ℓ) − h(ℓ−1)‖₂ / ‖h(ℓ−1)‖₂, comparable across models whose hidden scales differ.</summary>
    Relative,
}

/// <summary>How the halting entropy signal is computed, from most to least expensive.</summary>
public enum EntropySignalMode
{
    /// <summary>Logit lens (final norm + head) over the full vocabulary, for every active token at every eligible layer.</summary>
    Exact,
    /// <summary>Exact, but only at the layers listed in <see cref="HaltingPolicy.CheckpointLayers"/>; halting happens only there.</summary>
    CheckpointLayers,
    /// <summary>Exact, but only for tokens that already pass the drift test.</summary>
    DriftGated,
    /// <summary>A cheap proxy: entropy over the top-k head rows selected by the token's current dense top-k (see docs).</summary>
    Proxy,
}

/// <summary>What a halted token contributes to deeper layers' attention.</summary>
public enum KvSkipMode
{
    /// <summary>Nothing: the token writes no K/V at deeper layers and is excluded from their attention (paper 2.2).</summary>
    Skip,
    /// <summary>CALM-style propagation: its deeper K/V are computed from its frozen state (about 2·d·d_kv FLOPs per layer).</summary>
    Propagate,
}

/// <summary>How a super-token's state is weighted from its members.</summary>
public enum FusionWeighting
{
    /// <summary>Plain average.</summary>
    Uniform,
    /// <summary>Weighted by the attention each member receives.</summary>
    Attention,
    /// <summary>Weighted by each member's top logit-lens probability.</summary>
    Probability,
}

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
