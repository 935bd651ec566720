using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>What one transformer block returns.</summary>
public sealed class BlockOutput
{
    /// <summary>Updated hidden states (B, T, d).</summary>
    public required torch.Tensor Hidden { get; init; }
    /// <summary>Causal relevance (B, T, Nk): at row t, per key, the maximum over heads and query rows ≤ t of its attention probability; only when requested.</summary>
    public torch.Tensor? MaxAttention { get; init; }
    /// <summary>Rotated queries of the block's tokens (B, nh, T, hs); only when requested.</summary>
    public torch.Tensor? Queries { get; init; }
    /// <summary>Rotated keys of the block's tokens (B, nkv, T, hs); only when requested.</summary>
    public torch.Tensor? Keys { get; init; }
    /// <summary>Positions of those keys (Nk); only when requested.</summary>
    public torch.Tensor? KeyPositions { get; init; }
}
