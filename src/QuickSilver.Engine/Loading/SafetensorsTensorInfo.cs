namespace QuickSilver.Engine.Loading;

/// <summary>One entry of a safetensors header.</summary>
/// <param name="Name">Tensor name as stored.</param>
/// <param name="DType">Stored dtype ("F32", "F16", "BF16", ...).</param>
/// <param name="Shape">Shape, outermost first.</param>
/// <param name="Begin">First byte, relative to the start of the data section.</param>
/// <param name="End">One past the last byte, relative to the start of the data section.</param>
public sealed record SafetensorsTensorInfo(string Name, string DType, long[] Shape, long Begin, long End)
{
    /// <summary>Number of elements implied by the shape.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}
