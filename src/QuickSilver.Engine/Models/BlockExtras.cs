namespace QuickSilver.Engine.Models;

/// <summary>The optional parts of a <see cref="TransformerBlock"/>: what differs between families beyond weights and MLP.</summary>
public sealed class BlockExtras
{
    /// <summary>Score scale, sliding window and soft-cap of this layer.</summary>
    public AttentionOptions Attention { get; init; } = AttentionOptions.Default;
    /// <summary>RMSNorm over each query head (hs), before RoPE; null for none.</summary>
    public INormalization? QueryNorm { get; init; }
    /// <summary>RMSNorm over each key head (hs), before RoPE; null for none.</summary>
    public INormalization? KeyNorm { get; init; }
    /// <summary>Norm of the attention output before the residual add (sandwich); null for none.</summary>
    public INormalization? PostAttentionNorm { get; init; }
    /// <summary>Norm of the MLP output before the residual add (sandwich); null for none.</summary>
    public INormalization? PostMlpNorm { get; init; }
}
