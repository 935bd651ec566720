using QuickSilver.Engine.Runtime;
using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>What one transformer block reads.</summary>
public sealed class BlockInput
{
    /// <summary>Hidden states of the tokens that run this block (B, T, d).</summary>
    public required torch.Tensor Hidden { get; init; }
    /// <summary>Positions of those tokens (T), int64.</summary>
    public required torch.Tensor Positions { get; init; }
    /// <summary>First position when the T positions are consecutive, else null (disables mask-free fast paths).</summary>
    public int? FirstPosition { get; init; }
    /// <summary>This layer's cache (B must be 1), or null to attend only among the given tokens.</summary>
    public LayerKvCache? Cache { get; init; }
    /// <summary>Frozen states of halted tokens whose K/V this layer must still write (propagation), (1, Tp, d), or null.</summary>
    public torch.Tensor? PropagatedHidden { get; init; }
    /// <summary>Positions of <see cref="PropagatedHidden"/> (Tp).</summary>
    public torch.Tensor? PropagatedPositions { get; init; }
    /// <summary>Per written entry (the tokens, then the propagated ones), the bits to store its K/V at; null for full precision.</summary>
    public IReadOnlyList<int>? KvBits { get; init; }
    /// <summary>Also return the block's rotated queries and keys (for fusion's attention-similarity criterion).</summary>
    public bool NeedQueryKey { get; init; }
    /// <summary>Also return, for every key, the maximum attention probability it received (costs an eager attention).</summary>
    public bool NeedMaxAttention { get; init; }
}
