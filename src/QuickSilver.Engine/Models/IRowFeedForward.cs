namespace QuickSilver.Engine.Models;

/// <summary>An MLP that can also run on one host row without tensors (the decode step's path).</summary>
internal interface IRowFeedForward
{
    /// <summary>Whether its biases are float32 in host memory, so <see cref="ApplyRow"/> can run (weights fall back per product).</summary>
    bool SupportsRows { get; }

    /// <summary>Applies the MLP to the normalized row <paramref name="x"/> (d), writing <paramref name="y"/> (d).</summary>
    void ApplyRow(ReadOnlySpan<float> x, Span<float> y);

    /// <summary>
    /// Applies the MLP to <paramref name="count"/> rows (count × d each way), each row's result bit-identical to
    /// <see cref="ApplyRow"/> on it alone, reading each weight once for all rows.
    /// </summary>
    void ApplyRows(ReadOnlySpan<float> x, int count, Span<float> y);
}
