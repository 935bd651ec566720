namespace QuickSilver.Policies;

/// <summary>KV-cache skipping (paper 2.2, C): halted tokens stop writing K/V at deeper layers.</summary>
public sealed class KvSkipPolicy
{
    /// <summary>Whether skipping is on. When off, halted tokens propagate K/V from their frozen state.</summary>
    public bool Enabled { get; set; }
    /// <summary>Skip or propagate for halted tokens that are not skipped.</summary>
    public KvSkipMode Mode { get; set; } = KvSkipMode.Skip;
    /// <summary>Layers after halting during which the token still writes K/V (propagated) before skipping starts.</summary>
    public int HaltingDelay { get; set; }
    /// <summary>τ_kv (C.2/C.4): skip only if the maximum attention the token received at its halting layer is below this. Null disables the criterion.</summary>
    public float? AttentionThreshold { get; set; }

    /// <summary>Creates a copy.</summary>
    public KvSkipPolicy Clone() => (KvSkipPolicy)MemberwiseClone();
}
