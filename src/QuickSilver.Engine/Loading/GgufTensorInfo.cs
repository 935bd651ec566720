namespace QuickSilver.Engine.Loading;

/// <summary>One tensor entry of a GGUF file.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="Dimensions">ggml <c>ne</c>, innermost (contiguous) first.</param>
/// <param name="Type">Element type.</param>
/// <param name="Offset">Byte offset relative to <see cref="GgufFile.DataOffset"/>.</param>
/// <param name="ByteSize">Bytes the data occupies, or null for a type whose block size this reader does not know.</param>
public sealed record GgufTensorInfo(string Name, long[] Dimensions, GgufTensorType Type, long Offset, long? ByteSize)
{
    /// <summary>PyTorch / numpy shape: <see cref="Dimensions"/> reversed.</summary>
    public long[] Shape => [.. Dimensions.Reverse()];

    /// <summary>Number of elements.</summary>
    public long ElementCount => Dimensions.Aggregate(1L, (a, b) => a * b);
}
