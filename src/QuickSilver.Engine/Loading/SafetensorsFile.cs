using Microsoft.Win32.SafeHandles;

namespace QuickSilver.Engine.Loading;

/// <summary>An open, header-validated .safetensors file. Tensor data is read on demand with positional reads.</summary>
public sealed class SafetensorsFile : IDisposable
{
    private readonly SafeFileHandle _handle;

    internal SafetensorsFile(string path, SafeFileHandle handle, long dataOffset, IReadOnlyDictionary<string, SafetensorsTensorInfo> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        _handle = handle;
        DataOffset = dataOffset;
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Absolute position of the data section (8 + header length).</summary>
    public long DataOffset { get; }

    /// <summary>Header entries by name (<c>__metadata__</c> excluded).</summary>
    public IReadOnlyDictionary<string, SafetensorsTensorInfo> Tensors { get; }

    /// <summary>The string entries of <c>__metadata__</c>.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens and validates <paramref name="path"/>; see <see cref="SafetensorsReader.Open"/>.</summary>
    public static SafetensorsFile Open(string path) => SafetensorsReader.Open(path);

    /// <summary>Reads a tensor as float32 (F32, F16 and BF16 are supported).</summary>
    /// <param name="name">Stored tensor name.</param>
    /// <exception cref="ModelFormatException">The tensor is absent or has another dtype.</exception>
    public float[] ReadFloat32(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!Tensors.TryGetValue(name, out SafetensorsTensorInfo? info))
            throw new ModelFormatException(Path, $"missing tensor '{name}'.");
        if (info.DType is not ("F32" or "F16" or "BF16"))
            throw new ModelFormatException(Path, $"tensor '{name}' has dtype {info.DType}; only F32, F16 and BF16 are supported.");
        // Only now is the element count trusted: for these dtypes the header check tied it to the byte range inside the file.
        float[] data = FileSlice.AllocateFloats(info.ElementCount, Path, name);
        long offset = DataOffset + info.Begin;
        switch (info.DType)
        {
            case "F32":
                FileSlice.ReadFloat32(_handle, offset, data, Path, name);
                break;
            case "F16":
                FileSlice.ReadHalf(_handle, offset, data, bfloat16: false, Path, name);
                break;
            default:
                FileSlice.ReadHalf(_handle, offset, data, bfloat16: true, Path, name);
                break;
        }
        return data;
    }

    /// <summary>A 2-D F16/BF16 tensor kept 16-bit (its bytes as stored, read piece by piece), or null for any other dtype or rank.</summary>
    internal Kernels.QuantizedMatrix? ReadHalfMatrix(string name)
    {
        if (!Tensors.TryGetValue(name, out SafetensorsTensorInfo? info))
            throw new ModelFormatException(Path, $"missing tensor '{name}'.");
        if (info.Shape.Length != 2 || info.DType is not ("F16" or "BF16")) return null;
        GgufTensorType type = info.DType == "F16" ? GgufTensorType.F16 : GgufTensorType.BF16;
        long start = DataOffset + info.Begin;
        try
        {
            return Kernels.QuantizedMatrix.FromGgufBlocks(type, info.Shape[0], info.Shape[1],
                (element, destination) => FileSlice.ReadExactly(_handle, start + (element * 2), destination, Path, $"tensor '{name}'"));
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException(Path, $"tensor '{name}': {e.Message}", e);
        }
    }

    /// <summary>Reads a tensor as a <see cref="HostTensor"/> with its stored shape.</summary>
    /// <param name="name">Stored tensor name.</param>
    /// <param name="hostName">Name to give the result (default: <paramref name="name"/>).</param>
    public HostTensor ReadTensor(string name, string? hostName = null)
    {
        float[] data = ReadFloat32(name);
        return new HostTensor(hostName ?? name, (long[])Tensors[name].Shape.Clone(), data);
    }

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();
}
