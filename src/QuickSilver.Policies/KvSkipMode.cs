namespace QuickSilver.Policies;

/// <summary>What a halted token contributes to deeper layers' attention.</summary>
public enum KvSkipMode
{
    /// <summary>Nothing: the token writes no K/V at deeper layers and is excluded from their attention (paper 2.2).</summary>
    Skip,
    /// <summary>CALM-style propagation: its deeper K/V are computed from its frozen state (about 2·d·d_kv FLOPs per layer).</summary>
    Propagate,
}
