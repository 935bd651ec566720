namespace QuickSilver.Policies;

/// <summary>Contextual token fusion (paper 2.3, D): near-identical tokens merge into one super-token.</summary>
public sealed class FusionPolicy
{
    /// <summary>Whether fusion is on.</summary>
    public bool Enabled { get; set; }
    /// <summary>τ_fuse on ‖h_t − h_u‖₂ (relative to ‖h_u‖ when <see cref="RelativeDistance"/>).</summary>
    public float DistanceThreshold { get; set; }
    /// <summary>Divide the distance by the later token's norm, so one threshold fits models of any scale.</summary>
    public bool RelativeDistance { get; set; } = true;
    /// <summary>τ_attn: non-adjacent pairs also fuse when their running q·k cosine similarity exceeds this. Null means adjacent pairs only.</summary>
    public float? AttentionSimilarityThreshold { get; set; }
    /// <summary>How far back (in positions) non-adjacent candidates are searched.</summary>
    public int AttentionWindow { get; set; } = 8;
    /// <summary>Member weighting of the super-token.</summary>
    public FusionWeighting Weighting { get; set; } = FusionWeighting.Uniform;
    /// <summary>First block count (1-based) after which fusion may happen.</summary>
    public int StartLayer { get; set; } = 1;

    /// <summary>Creates a copy.</summary>
    public FusionPolicy Clone() => (FusionPolicy)MemberwiseClone();
}
