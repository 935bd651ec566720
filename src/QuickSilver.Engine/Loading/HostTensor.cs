namespace QuickSilver.Engine.Loading;

/// <summary>A float32 tensor on the host, as a loader produces it: row-major, PyTorch shape order.</summary>
/// <param name="Name">Canonical name (see <see cref="WeightNames"/>).</param>
/// <param name="Shape">Shape, outermost first.</param>
/// <param name="Data">Row-major float32 values; length equals the product of <paramref name="Shape"/>.</param>
public sealed record HostTensor(string Name, long[] Shape, float[] Data)
{
    /// <summary>Number of elements implied by the shape.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}
