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

    /// <summary>Creates a deep copy.</summary>
    public HaltingPolicy Clone()
    {
        var copy = (HaltingPolicy)MemberwiseClone();
        copy.CheckpointLayers = (int[])CheckpointLayers.Clone();
        return copy;
    }
}
