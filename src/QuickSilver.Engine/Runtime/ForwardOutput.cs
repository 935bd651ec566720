using TorchSharp;

namespace QuickSilver.Engine.Runtime;

/// <summary>Result of a forward pass. The caller owns and disposes the tensors.</summary>
public sealed class ForwardOutput : IDisposable
{
    /// <summary>Logits (T, V) or (1, V).</summary>
    public required torch.Tensor Logits { get; init; }
    /// <summary>Final hidden states (1, T, d) when requested.</summary>
    public torch.Tensor? Hidden { get; init; }
    /// <summary>
    /// Positions absorbed by fusion. Their logits come from a state frozen at the fusion point, and whether
    /// they fused depended on the next token: scoring them would leak it. Never score them.
    /// </summary>
    public required bool[] Absorbed { get; init; }
    /// <summary>
    /// Positions whose logits depend on a later token of the same pass: the absorbed ones, and those between the members
    /// of a non-adjacent fused pair (they lose the earlier member's K/V at deeper layers because of the later one).
    /// A teacher-forced score must come from their own prefix instead.
    /// </summary>
    public bool[] DependsOnLater { get; init; } = [];

    /// <inheritdoc />
    public void Dispose()
    {
        Logits.Dispose();
        Hidden?.Dispose();
    }
}
