using Microsoft.Win32.SafeHandles;
using QuickSilver.Engine.Kernels;

namespace QuickSilver.Engine.Loading;

/// <summary>Reads a GGUF tensor's raw block bytes, so a weight the kernels can multiply stays in its blocks instead of being decoded.</summary>
internal static class GgufBlockReader
{
    /// <summary>Whether <paramref name="info"/> is a matrix the kernels hold quantized (Q8_0 or Q4_0, 2-D).</summary>
    public static bool CanKeepPacked(GgufTensorInfo info) => info.Dimensions.Length == 2 && QuantizedMatrix.Supports(info.Type);

    /// <summary>Reads a 2-D Q8_0/Q4_0 tensor into a <see cref="QuantizedMatrix"/> of shape [rows, columns] (numpy order).</summary>
    /// <exception cref="ModelFormatException">The data is truncated or the shape does not fit the block format.</exception>
    public static QuantizedMatrix ReadPacked(GgufFile file, GgufTensorInfo info)
    {
        long[] shape = info.Shape;
        int blockBytes = QuantizedMatrix.BlockBytes(info.Type);
        using SafeFileHandle handle = FileSlice.OpenRead(file.Path);
        long start = file.DataOffset + info.Offset;
        try
        {
            return QuantizedMatrix.FromGgufBlocks(info.Type, shape[0], shape[1],
                (block, destination) => FileSlice.ReadExactly(handle, start + (block * blockBytes), destination, file.Path, $"tensor '{info.Name}'"));
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException(file.Path, $"tensor '{info.Name}': {e.Message}", e);
        }
    }
}
