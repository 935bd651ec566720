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
    /// <summary>First block count (1-based) after which fusion may happen. Ignored when <see cref="StartDepthFraction"/> is set.</summary>
    public int StartLayer { get; set; } = 1;
    /// <summary>When set, fusion starts at this fraction of the model depth instead of <see cref="StartLayer"/> (the paper's "layer 12 of 24" is 0.5), so one policy fits models of any depth.</summary>
    public float? StartDepthFraction { get; set; }

    /// <summary>The effective first fusion layer for a model of <paramref name="numLayers"/> blocks: round(fraction·L) when <see cref="StartDepthFraction"/> is set, else <see cref="StartLayer"/>; always in [1, L].</summary>
    /// <param name="numLayers">The model depth L.</param>
    public int ResolveStartLayer(int numLayers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numLayers, 1);
        var layer = StartDepthFraction is { } fraction
            ? (int)Math.Round(fraction * numLayers, MidpointRounding.AwayFromZero)
            : StartLayer;
        return Math.Clamp(layer, 1, numLayers);
    }

    /// <summary>Creates a copy.</summary>
    public FusionPolicy Clone() => (FusionPolicy)MemberwiseClone();
}
