namespace QuickSilver.Engine.Models;

/// <summary>A normalization that can also run on one host row without tensors (the decode step's path).</summary>
internal interface IRowNormalization
{
    /// <summary>Whether the weights are float32 in host memory, so <see cref="ApplyRow"/> can run.</summary>
    bool SupportsRows { get; }

    /// <summary>Normalizes <paramref name="x"/> into <paramref name="y"/> (same length as the weight; may be the same span).</summary>
    void ApplyRow(ReadOnlySpan<float> x, Span<float> y);
}
