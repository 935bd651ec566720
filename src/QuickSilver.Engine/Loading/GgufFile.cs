using System.Diagnostics.CodeAnalysis;
using Microsoft.Win32.SafeHandles;
using QuickSilver.Engine.Quantization;

namespace QuickSilver.Engine.Loading;

/// <summary>
/// The parsed header of a GGUF file: typed metadata and tensor infos. Scalars appear in <see cref="Metadata"/> as their
/// CLR type (u32 as <see cref="uint"/>, f32 as <see cref="float"/>, ...), arrays as typed arrays (<c>string[]</c>,
/// <c>float[]</c>, <c>int[]</c>, ...; arrays of arrays as <c>object[]</c>). Tensor data is read on demand.
/// </summary>
public sealed class GgufFile
{
    private readonly Dictionary<string, GgufTensorInfo> _tensorsByName;

    internal GgufFile(string path, uint version, int alignment, long dataOffset, long fileLength,
        IReadOnlyDictionary<string, object> metadata, IReadOnlyDictionary<string, GgufValueType> metadataTypes, IReadOnlyList<GgufTensorInfo> tensors)
    {
        Path = path;
        Version = version;
        Alignment = alignment;
        DataOffset = dataOffset;
        FileLength = fileLength;
        Metadata = metadata;
        MetadataTypes = metadataTypes;
        Tensors = tensors;
        _tensorsByName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The file.</summary>
    public string Path { get; }
    /// <summary>GGUF version (2 or 3).</summary>
    public uint Version { get; }
    /// <summary>Alignment of the data section and of each tensor's offset.</summary>
    public int Alignment { get; }
    /// <summary>Absolute position of the tensor data section.</summary>
    public long DataOffset { get; }
    /// <summary>Length of the file when it was read.</summary>
    public long FileLength { get; }
    /// <summary>Metadata values by key, typed as described on the class.</summary>
    public IReadOnlyDictionary<string, object> Metadata { get; }
    /// <summary>The on-disk type of each metadata value.</summary>
    public IReadOnlyDictionary<string, GgufValueType> MetadataTypes { get; }
    /// <summary>Tensor infos in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>general.architecture, or null.</summary>
    public string? Architecture => TryGetString("general.architecture", out string? value) ? value : null;

    /// <summary>Reads a GGUF header; see <see cref="GgufReader.Read"/>.</summary>
    public static GgufFile Read(string path) => GgufReader.Read(path);

    /// <summary>Looks up a tensor info by name.</summary>
    public bool TryGetTensor(string name, [NotNullWhen(true)] out GgufTensorInfo? info) => _tensorsByName.TryGetValue(name, out info);

    /// <summary>A string value. Throws <see cref="ModelFormatException"/> when absent or not a string.</summary>
    public string GetString(string key) => TryGetString(key, out string? value) ? value : throw Missing(key);

    /// <summary>A string value. False when absent; throws <see cref="ModelFormatException"/> when present with another type.</summary>
    public bool TryGetString(string key, [NotNullWhen(true)] out string? value)
    {
        value = null;
        if (!Lookup(key, out object? raw)) return false;
        value = raw as string ?? throw WrongType(key, "a string");
        return true;
    }

    /// <summary>An unsigned 32-bit value (any integer type in range is accepted). Throws when absent or out of range.</summary>
    public uint GetUInt32(string key) => TryGetUInt32(key, out uint value) ? value : throw Missing(key);

    /// <summary>An unsigned 32-bit value. False when absent; throws <see cref="ModelFormatException"/> when present but not an integer in range.</summary>
    public bool TryGetUInt32(string key, out uint value)
    {
        value = 0;
        if (!Lookup(key, out object? raw)) return false;
        return TryConvertToUInt32(raw, out value) ? true : throw WrongType(key, "an unsigned 32-bit integer");
    }

    /// <summary>A 32-bit float (f32 or f64 accepted). Throws when absent or of another type.</summary>
    public float GetFloat32(string key) => TryGetFloat32(key, out float value) ? value : throw Missing(key);

    /// <summary>A 32-bit float. False when absent; throws <see cref="ModelFormatException"/> when present with a non-float type.</summary>
    public bool TryGetFloat32(string key, out float value)
    {
        value = 0;
        if (!Lookup(key, out object? raw)) return false;
        value = raw switch
        {
            float f => f,
            double d => (float)d,
            _ => throw WrongType(key, "a float"),
        };
        return true;
    }

    /// <summary>A boolean. False when absent; throws <see cref="ModelFormatException"/> when present with another type.</summary>
    public bool TryGetBool(string key, out bool value)
    {
        value = false;
        if (!Lookup(key, out object? raw)) return false;
        value = raw is bool b ? b : throw WrongType(key, "a bool");
        return true;
    }

    /// <summary>A typed array (e.g. <c>string[]</c> for tokenizer.ggml.tokens). Throws when absent or of another type.</summary>
    public T[] GetArray<T>(string key) => TryGetArray(key, out T[]? value) ? value : throw Missing(key);

    /// <summary>A typed array. False when absent; throws <see cref="ModelFormatException"/> when present with another type.</summary>
    public bool TryGetArray<T>(string key, [NotNullWhen(true)] out T[]? value)
    {
        value = null;
        if (!Lookup(key, out object? raw)) return false;
        value = raw as T[] ?? throw WrongType(key, $"an array of {typeof(T).Name}");
        return true;
    }

    /// <summary>
    /// Reads a tensor and decodes it to float32, row-major in <see cref="GgufTensorInfo.Shape"/> order. Every type in
    /// <see cref="BlockFormats.SupportedTypes"/> is decoded (F32, F16, BF16, the 32-value quants, the k-quants, IQ4_NL, IQ4_XS).
    /// </summary>
    /// <exception cref="ModelFormatException">Unsupported type (named with the tensor and the file), or the data cannot be read.</exception>
    public float[] ReadTensorData(GgufTensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        FormatOf(tensor);
        float[] result = FileSlice.AllocateFloats(tensor.ElementCount, Path, tensor.Name);
        ReadTensorRows(tensor, 0, result);
        return result;
    }

    /// <summary>
    /// Reads rows <paramref name="firstRow"/>.. of a tensor (a row is its innermost dimension, <c>Dimensions[0]</c> values)
    /// straight into <paramref name="destination"/>, decoding as <see cref="ReadTensorData"/> does. Lets a loader fill a
    /// model's own tensor storage, or take a row block of a fused matrix, with no whole-tensor float copy in between.
    /// </summary>
    /// <param name="tensor">A tensor of this file.</param>
    /// <param name="firstRow">First row to read.</param>
    /// <param name="destination">Whole rows: its length is a multiple of the row width.</param>
    /// <exception cref="ModelFormatException">Unsupported type, rows that are not whole blocks, or data beyond the end of the file (naming the file and tensor).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The rows are outside the tensor, or the destination is not whole rows.</exception>
    public void ReadTensorRows(GgufTensorInfo tensor, long firstRow, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using SafeFileHandle handle = FileSlice.OpenRead(Path);
        ReadTensorRows(handle, tensor, firstRow, destination);
    }

    internal void ReadTensorRows(SafeFileHandle handle, GgufTensorInfo tensor, long firstRow, Span<float> destination)
    {
        BlockFormat format = FormatOf(tensor);
        long rowBytes = RowBytes(tensor, format);
        long width = RowWidth(tensor), rows = tensor.ElementCount / Math.Max(1, width);
        if (width == 0)
        {
            // A tensor with a zero-sized row holds no values: there is nothing to read, and no row to ask for.
            if (destination.Length == 0) return;
            throw new ModelFormatException(Path, $"tensor '{tensor.Name}' has rows of 0 values, so its {destination.Length} values cannot be read.");
        }
        if (destination.Length % width != 0)
            throw new ArgumentOutOfRangeException(nameof(destination), $"{destination.Length} values are not whole rows of {width} of tensor '{tensor.Name}' in '{Path}'.");
        long count = destination.Length / width;
        if (firstRow < 0 || firstRow + count > rows)
            throw new ArgumentOutOfRangeException(nameof(firstRow), $"Rows [{firstRow}, {firstRow + count}) are outside tensor '{tensor.Name}' ({rows} rows) in '{Path}'.");
        long offset = DataOffset + tensor.Offset + (firstRow * rowBytes);
        if (offset + (count * rowBytes) > FileLength)
            throw new ModelFormatException(Path, $"tensor '{tensor.Name}' rows [{firstRow}, {firstRow + count}) end at byte {offset + (count * rowBytes)}, beyond the end of the file ({FileLength} bytes).");
        if (tensor.Type == GgufTensorType.F32) FileSlice.ReadFloat32(handle, offset, destination, Path, tensor.Name);
        else ReadBlocks(handle, offset, tensor, format, destination);
    }

    /// <summary>Values per row (the innermost dimension; a scalar tensor is one row of one).</summary>
    internal static long RowWidth(GgufTensorInfo tensor) => tensor.Dimensions.Length == 0 ? 1 : tensor.Dimensions[0];

    /// <summary>Bytes per row on disk; throws when a row is not a whole number of blocks.</summary>
    internal long RowBytes(GgufTensorInfo tensor, BlockFormat format)
    {
        long width = RowWidth(tensor);
        if (width % format.BlockValues != 0)
            throw new ModelFormatException(Path, $"tensor '{tensor.Name}' has rows of {width} values, not a whole number of {format.BlockValues}-value {tensor.Type} blocks.");
        return width / format.BlockValues * format.BlockBytes;
    }

    /// <summary>The tensor's block format; throws naming the tensor and the file when QuickSilver cannot decode it.</summary>
    internal BlockFormat FormatOf(GgufTensorInfo tensor)
    {
        if (!BlockFormats.TryGet(tensor.Type, out BlockFormat? format))
        {
            throw new ModelFormatException(Path,
                $"tensor '{tensor.Name}' has type {BlockFormats.Describe(tensor.Type)}, which QuickSilver cannot load; supported types: {BlockFormats.SupportedList}.");
        }
        return format;
    }

    /// <summary>Reads a tensor as a <see cref="HostTensor"/> with its numpy shape.</summary>
    /// <param name="name">Tensor name in the file.</param>
    /// <param name="hostName">Name to give the result (default: <paramref name="name"/>).</param>
    public HostTensor ReadTensor(string name, string? hostName = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!TryGetTensor(name, out GgufTensorInfo? info))
            throw new ModelFormatException(Path, $"missing tensor '{name}'.");
        return new HostTensor(hostName ?? name, info.Shape, ReadTensorData(info));
    }

    internal static bool TryConvertToUInt32(object raw, out uint value)
    {
        (bool ok, value) = raw switch
        {
            uint u => (true, u),
            byte b => (true, b),
            ushort s => (true, s),
            sbyte sb when sb >= 0 => (true, (uint)sb),
            short sh when sh >= 0 => (true, (uint)sh),
            int i when i >= 0 => (true, (uint)i),
            ulong ul when ul <= uint.MaxValue => (true, (uint)ul),
            long l when l is >= 0 and <= uint.MaxValue => (true, (uint)l),
            _ => (false, 0u),
        };
        return ok;
    }

    private void ReadBlocks(SafeFileHandle handle, long offset, GgufTensorInfo tensor, BlockFormat format, Span<float> result)
    {
        if (result.Length % format.BlockValues != 0)
            throw new ModelFormatException(Path, $"tensor '{tensor.Name}' has {result.Length} values, not a whole number of {format.BlockValues}-value {tensor.Type} blocks.");
        const int ChunkBytes = 1 << 20;
        int blocksPerChunk = Math.Max(1, ChunkBytes / format.BlockBytes);
        int totalBlocks = result.Length / format.BlockValues;
        var buffer = new byte[(long)Math.Min(blocksPerChunk, Math.Max(1, totalBlocks)) * format.BlockBytes];
        int done = 0;
        while (done < result.Length)
        {
            int blocks = Math.Min(buffer.Length / format.BlockBytes, (result.Length - done) / format.BlockValues);
            Span<byte> bytes = buffer.AsSpan(0, blocks * format.BlockBytes);
            FileSlice.ReadExactly(handle, offset, bytes, Path, $"tensor '{tensor.Name}'");
            Span<float> values = result.Slice(done, blocks * format.BlockValues);
            format.Decode(bytes, values);
            done += values.Length;
            offset += bytes.Length;
        }
    }

    private bool Lookup(string key, [NotNullWhen(true)] out object? raw)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Metadata.TryGetValue(key, out raw);
    }

    private ModelFormatException Missing(string key) => new(Path, $"metadata '{key}' is missing.");

    private ModelFormatException WrongType(string key, string expected) =>
        new(Path, $"metadata '{key}' should be {expected} but is {(MetadataTypes.TryGetValue(key, out GgufValueType type) ? type.ToString() : Metadata[key].GetType().Name)}.");
}
