namespace QuickSilver.Policies;

/// <summary>Dynamic token halting (paper 2.1, B): a token stops once drift and entropy are both below their thresholds.</summary>
public sealed class HaltingPolicy
{
    /// <summary>Whether halting is on.</summary>
    public bool Enabled { get; set; }
    /// <summary>τ_drift. Units follow <see cref="DriftMode"/>.</summary>
    public float DriftThreshold { get; set; }
    /// <summary>Absolute or relative drift.</summary>
    public DriftMode DriftMode { get; set; } = DriftMode.Relative;
    /// <summary>τ_halt on the logit-lens entropy, in nats.</summary>
    public float EntropyThreshold { get; set; }
    /// <summary>How the entropy signal is computed.</summary>
    public EntropySignalMode EntropyMode { get; set; } = EntropySignalMode.DriftGated;
    /// <summary>Layers (1-based count of blocks done) at which entropy is computed in <see cref="EntropySignalMode.CheckpointLayers"/> mode.</summary>
    public int[] CheckpointLayers { get; set; } = [];
    /// <summary>Top-k used by <see cref="EntropySignalMode.Proxy"/>.</summary>
    public int ProxyTopK { get; set; } = 64;
    /// <summary>Minimum number of blocks a token runs before it may halt (paper default 5; clamped to L−1 for shallow models).</summary>
    public int MinLayer { get; set; } = 5;
    /// <summary>Last block count after which halting may still start; null means up to L−1.</summary>
    public int? WindowEnd { get; set; }

    /// <summary>The effective minimum halting depth for a model of <paramref name="numLayers"/> blocks: <see cref="MinLayer"/> clamped to [1, L−1], so the default of 5 still leaves shallow models a layer to halt at.</summary>
    /// <param name="numLayers">The model depth L.</param>
    public int ResolveMinLayer(int numLayers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numLayers, 1);
        return Math.Max(1, Math.Min(MinLayer, numLayers - 1));
    }

    /// <summary>The effective last layer at which halting may start: <see cref="WindowEnd"/>, or L−1 (at least 1) when it is null.</summary>
    /// <param name="numLayers">The model depth L.</param>
    public int ResolveWindowEnd(int numLayers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numLayers, 1);
        return WindowEnd ?? Math.Max(1, numLayers - 1);
    }

    /// <summary>Whether a token may halt after <paramref name="layer"/> blocks of an <paramref name="numLayers"/>-block model: inside [<see cref="ResolveMinLayer"/>, <see cref="ResolveWindowEnd"/>], before the last block (halting after it saves nothing) and, in <see cref="EntropySignalMode.CheckpointLayers"/> mode, a listed checkpoint.</summary>
    /// <param name="layer">The 1-based count of blocks done.</param>
    /// <param name="numLayers">The model depth L.</param>
    public bool IsHaltingLayer(int layer, int numLayers)
    {
        if (layer < ResolveMinLayer(numLayers) || layer > ResolveWindowEnd(numLayers) || layer >= numLayers)
        {
            return false;
        }

        return EntropyMode != EntropySignalMode.CheckpointLayers || Array.IndexOf(CheckpointLayers, layer) >= 0;
    }

    /// <summary>Creates a deep copy.</summary>
    public HaltingPolicy Clone()
    {
        var copy = (HaltingPolicy)MemberwiseClone();
        copy.CheckpointLayers = (int[])CheckpointLayers.Clone();
        return copy;
    }
}
