namespace QuickSilver.Policies;

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
