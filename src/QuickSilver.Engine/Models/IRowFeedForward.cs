namespace QuickSilver.Engine.Models;

/// <summary>An MLP that can also run on one host row without tensors (the decode step's path).</summary>
internal interface IRowFeedForward
{
    /// <summary>Whether its biases are float32 in host memory, so <see cref="ApplyRow"/> can run (weights fall back per product).</summary>
    bool SupportsRows { get; }

    /// <summary>Applies the MLP to the normalized row <paramref name="x"/> (d), writing <paramref name="y"/> (d).</summary>
    void ApplyRow(ReadOnlySpan<float> x, Span<float> y);

    /// <summary>Applies the MLP to <paramref name="n"/> rows (n × d) into <paramref name="y"/> (n × d), each row as <see cref="ApplyRow"/> alone.</summary>
    void ApplyRows(ReadOnlySpan<float> x, int n, Span<float> y);
}
