using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace QuickSilver.Engine.Loading;

/// <summary>
/// Reads the safetensors format: an 8-byte little-endian header length, a JSON header mapping tensor names to
/// <c>{dtype, shape, data_offsets}</c>, then the data section. Every size and offset is checked against the file
/// before anything is allocated from it.
/// </summary>
public static class SafetensorsReader
{
    /// <summary>Largest JSON header accepted (100 MB, the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>File name of a single-file checkpoint in a Hugging Face folder.</summary>
    public const string SingleFileName = "model.safetensors";

    /// <summary>File name of the shard index in a Hugging Face folder.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    private const string MetadataKey = "__metadata__";

    /// <summary>Opens a .safetensors file and validates its header.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="ModelFormatException">The file is missing, truncated or its header is inconsistent.</exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafeFileHandle handle = FileSlice.OpenRead(path);
        try
        {
            long length = RandomAccess.GetLength(handle);
            if (length < 8)
                throw new ModelFormatException(path, $"file is {length} bytes, too short for the 8-byte safetensors header length.");
            Span<byte> prefix = stackalloc byte[8];
            FileSlice.ReadExactly(handle, 0, prefix, path, "the header length");
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > MaxHeaderBytes)
                throw new ModelFormatException(path, $"header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit.");
            if (headerLength > (ulong)(length - 8))
                throw new ModelFormatException(path, $"header length {headerLength} exceeds the file ({length} bytes).");

            var header = new byte[headerLength];
            FileSlice.ReadExactly(handle, 8, header, path, "the JSON header");
            long dataOffset = 8 + (long)headerLength;
            (Dictionary<string, SafetensorsTensorInfo> tensors, Dictionary<string, string> metadata) = ParseHeader(path, header, length - dataOffset);
            return new SafetensorsFile(path, handle, dataOffset, tensors, metadata);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Reads every supported tensor of one file into host memory, under its stored name.</summary>
    /// <param name="path">The file.</param>
    public static IReadOnlyDictionary<string, HostTensor> ReadAll(string path)
    {
        using SafetensorsFile file = Open(path);
        var result = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        foreach (string name in file.Tensors.Keys) result[name] = file.ReadTensor(name);
        return result;
    }

    /// <summary>
    /// Opens a checkpoint: a .safetensors file, a .index.json shard index, or a folder holding
    /// <see cref="IndexFileName"/>, <see cref="SingleFileName"/> or exactly one .safetensors file.
    /// </summary>
    /// <param name="path">File, index or folder.</param>
    /// <exception cref="ModelFormatException">Nothing readable is there, or a shard is missing or inconsistent with the index.</exception>
    public static SafetensorsCheckpoint OpenCheckpoint(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path))
        {
            string index = Path.Combine(path, IndexFileName);
            if (File.Exists(index)) return OpenIndex(index);
            string single = Path.Combine(path, SingleFileName);
            if (File.Exists(single)) return OpenSingle(single);
            string[] candidates = Directory.GetFiles(path, "*.safetensors");
            return candidates.Length == 1
                ? OpenSingle(candidates[0])
                : throw new ModelFormatException(path, candidates.Length == 0
                    ? $"folder holds neither {IndexFileName} nor any .safetensors file."
                    : $"folder holds {candidates.Length} .safetensors files but no {IndexFileName} saying how they fit together.");
        }
        return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? OpenIndex(path) : OpenSingle(path);
    }

    private static SafetensorsCheckpoint OpenSingle(string path)
    {
        SafetensorsFile file = Open(path);
        var owners = file.Tensors.Keys.ToDictionary(name => name, _ => file, StringComparer.Ordinal);
        return new SafetensorsCheckpoint(path, [file], owners);
    }

    private static SafetensorsCheckpoint OpenIndex(string indexPath)
    {
        Dictionary<string, string> weightMap = ReadWeightMap(indexPath);
        string folder = Path.GetDirectoryName(Path.GetFullPath(indexPath)) ?? ".";
        var files = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        var owners = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach ((string tensor, string shard) in weightMap)
            {
                if (!files.TryGetValue(shard, out SafetensorsFile? file))
                {
                    string shardPath = Path.Combine(folder, shard);
                    if (!File.Exists(shardPath))
                        throw new ModelFormatException(indexPath, $"weight_map sends tensor '{tensor}' to shard '{shard}', which does not exist.", new FileNotFoundException(null, shardPath));
                    file = Open(shardPath);
                    files[shard] = file;
                }
                if (!file.Tensors.ContainsKey(tensor))
                    throw new ModelFormatException(indexPath, $"weight_map sends tensor '{tensor}' to shard '{shard}', whose header lacks it.");
                owners[tensor] = file;
            }
        }
        catch
        {
            foreach (SafetensorsFile file in files.Values) file.Dispose();
            throw;
        }
        return new SafetensorsCheckpoint(indexPath, [.. files.Values], owners);
    }

    private static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        byte[] bytes = ReadSmallFile(indexPath, MaxHeaderBytes);
        try
        {
            using JsonDocument document = JsonDocument.Parse(bytes);
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("weight_map", out JsonElement map)
                || map.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFormatException(indexPath, "field 'weight_map' is missing or not an object.");
            }
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new ModelFormatException(indexPath, $"weight_map entry '{entry.Name}' is not a file name string.");
                string shard = entry.Value.GetString()!;
                if (shard.Length == 0 || Path.GetFileName(shard) != shard || shard is "." or "..")
                    throw new ModelFormatException(indexPath, $"weight_map entry '{entry.Name}' names '{shard}', which is not a plain file name in the index's folder.");
                if (!result.TryAdd(entry.Name, shard))
                    throw new ModelFormatException(indexPath, $"weight_map lists tensor '{entry.Name}' twice.");
            }
            return result;
        }
        catch (JsonException ex)
        {
            throw new ModelFormatException(indexPath, $"not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>Reads a whole small file (JSON configs and indexes) after checking its size.</summary>
    internal static byte[] ReadSmallFile(string path, long maxBytes)
    {
        using SafeFileHandle handle = FileSlice.OpenRead(path);
        long length = RandomAccess.GetLength(handle);
        if (length > maxBytes)
            throw new ModelFormatException(path, $"file is {length} bytes, above the {maxBytes}-byte limit for this kind of file.");
        var bytes = new byte[length];
        FileSlice.ReadExactly(handle, 0, bytes, path, "the file");
        return bytes;
    }

    private static (Dictionary<string, SafetensorsTensorInfo> Tensors, Dictionary<string, string> Metadata) ParseHeader(string path, byte[] header, long dataLength)
    {
        var tensors = new Dictionary<string, SafetensorsTensorInfo>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using JsonDocument document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 16 });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelFormatException(path, $"header is a JSON {document.RootElement.ValueKind}, not an object.");
            foreach (JsonProperty entry in document.RootElement.EnumerateObject())
            {
                if (entry.Name == MetadataKey)
                {
                    if (entry.Value.ValueKind == JsonValueKind.Object)
                    {
                        foreach (JsonProperty item in entry.Value.EnumerateObject())
                        {
                            if (item.Value.ValueKind == JsonValueKind.String) metadata[item.Name] = item.Value.GetString()!;
                        }
                    }
                    continue;
                }
                SafetensorsTensorInfo info = ParseEntry(path, entry, dataLength);
                if (!tensors.TryAdd(info.Name, info))
                    throw new ModelFormatException(path, $"header lists tensor '{info.Name}' twice.");
            }
        }
        catch (JsonException ex)
        {
            throw new ModelFormatException(path, $"header is not valid JSON: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new ModelFormatException(path, $"header has an unexpected JSON shape: {ex.Message}", ex);
        }

        SafetensorsTensorInfo? previous = null;
        foreach (SafetensorsTensorInfo info in tensors.Values.Where(t => t.End > t.Begin).OrderBy(t => t.Begin))
        {
            if (previous is not null && info.Begin < previous.End)
                throw new ModelFormatException(path, $"data of tensors '{previous.Name}' [{previous.Begin}, {previous.End}) and '{info.Name}' [{info.Begin}, {info.End}) overlap.");
            previous = info;
        }
        return (tensors, metadata);
    }

    private static SafetensorsTensorInfo ParseEntry(string path, JsonProperty entry, long dataLength)
    {
        string name = entry.Name;
        JsonElement value = entry.Value;
        if (value.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException(path, $"header entry for tensor '{name}' is not an object.");

        if (!value.TryGetProperty("dtype", out JsonElement dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new ModelFormatException(path, $"tensor '{name}' has no string field 'dtype'.");
        string dtype = dtypeElement.GetString()!;

        if (!value.TryGetProperty("shape", out JsonElement shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new ModelFormatException(path, $"tensor '{name}' has no array field 'shape'.");
        int rank = shapeElement.GetArrayLength();
        if (rank > 8)
            throw new ModelFormatException(path, $"tensor '{name}' has {rank} dimensions; at most 8 are accepted.");
        var shape = new long[rank];
        long elements = 1;
        int axis = 0;
        foreach (JsonElement dimension in shapeElement.EnumerateArray())
        {
            if (dimension.ValueKind != JsonValueKind.Number || !dimension.TryGetInt64(out long size) || size < 0)
                throw new ModelFormatException(path, $"tensor '{name}' has an invalid shape entry {dimension.GetRawText()} (dimension {axis}).");
            shape[axis++] = size;
            elements = MultiplyOrThrow(elements, size, path, name);
        }

        if (!value.TryGetProperty("data_offsets", out JsonElement offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw new ModelFormatException(path, $"tensor '{name}' has no two-element array field 'data_offsets'.");
        long begin = ReadOffset(offsets[0], path, name);
        long end = ReadOffset(offsets[1], path, name);
        if (begin > end)
            throw new ModelFormatException(path, $"tensor '{name}' has data_offsets [{begin}, {end}) that end before they begin.");
        if (end > dataLength)
            throw new ModelFormatException(path, $"tensor '{name}' has data_offsets [{begin}, {end}) outside the data section ({dataLength} bytes).");

        int elementSize = DTypeSize(dtype);
        if (elementSize > 0)
        {
            long bytes = MultiplyOrThrow(elements, elementSize, path, name);
            if (bytes != end - begin)
                throw new ModelFormatException(path, $"tensor '{name}' of dtype {dtype} and shape {WeightLayout.FormatShape(shape)} needs {bytes} bytes but data_offsets [{begin}, {end}) span {end - begin}.");
        }
        return new SafetensorsTensorInfo(name, dtype, shape, begin, end);
    }

    private static long ReadOffset(JsonElement element, string path, string name) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out long offset) && offset >= 0
            ? offset
            : throw new ModelFormatException(path, $"tensor '{name}' has an invalid data offset {element.GetRawText()}.");

    private static long MultiplyOrThrow(long a, long b, string path, string name)
    {
        try
        {
            return checked(a * b);
        }
        catch (OverflowException ex)
        {
            throw new ModelFormatException(path, $"tensor '{name}' has a shape whose size overflows 64 bits.", ex);
        }
    }

    /// <summary>Bytes per element of a safetensors dtype, or 0 when unknown.</summary>
    internal static int DTypeSize(string dtype) => dtype switch
    {
        "BOOL" or "U8" or "I8" or "F8_E5M2" or "F8_E4M3" => 1,
        "I16" or "U16" or "F16" or "BF16" => 2,
        "I32" or "U32" or "F32" => 4,
        "I64" or "U64" or "F64" => 8,
        _ => 0,
    };
}
