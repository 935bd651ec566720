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
        long bytes = shape[0] * shape[1] / Quantization.BlockFormats.Get(info.Type).BlockValues * QuantizedMatrix.BlockBytes(info.Type);
        if (bytes > int.MaxValue) throw new ModelFormatException(file.Path, $"tensor '{info.Name}' is too large ({bytes} bytes) to hold packed.");
        var buffer = GC.AllocateUninitializedArray<byte>((int)bytes);
        using SafeFileHandle handle = FileSlice.OpenRead(file.Path);
        FileSlice.ReadExactly(handle, file.DataOffset + info.Offset, buffer, file.Path, $"tensor '{info.Name}'");
        try
        {
            return QuantizedMatrix.FromGgufBlocks(info.Type, shape[0], shape[1], buffer);
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException(file.Path, $"tensor '{info.Name}': {e.Message}", e);
        }
    }
}
