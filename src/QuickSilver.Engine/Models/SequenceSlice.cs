using QuickSilver.Engine.Runtime;
using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>
/// One sequence's rows inside a batched block pass (<see cref="TransformerBlock.ForwardBatch"/>): where its rows sit among
/// the batch's N rows, their positions, and the sequence's own cache for this layer.
/// </summary>
public sealed class SequenceSlice
{
    /// <summary>Index of the sequence's first row among the batch's rows.</summary>
    public required int Offset { get; init; }

    /// <summary>Number of rows (new tokens) of this sequence.</summary>
    public required int Count { get; init; }

    /// <summary>Positions of those rows (Count), int64, ascending.</summary>
    public required torch.Tensor Positions { get; init; }

    /// <summary>First position when the rows are consecutive positions, else null (disables mask-free fast paths).</summary>
    public int? FirstPosition { get; init; }

    /// <summary>This sequence's cache for the layer, or null to attend only among its own rows.</summary>
    public LayerKvCache? Cache { get; init; }
}
