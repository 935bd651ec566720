namespace QuickSilver.Policies;

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
