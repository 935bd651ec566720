using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>What one transformer block returns.</summary>
public sealed class BlockOutput
{
    /// <summary>Updated hidden states (B, T, d).</summary>
    public required torch.Tensor Hidden { get; init; }
    /// <summary>Per key, the maximum over heads and queries of its attention probability (B, Nk); only when requested.</summary>
    public torch.Tensor? MaxAttention { get; init; }
    /// <summary>Positions of those keys (Nk); only when requested.</summary>
    public torch.Tensor? KeyPositions { get; init; }
}
