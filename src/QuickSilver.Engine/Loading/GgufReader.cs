namespace QuickSilver.Engine.Loading;

/// <summary>
/// Parses GGUF v2/v3 headers: magic, version, tensor and metadata counts, typed metadata, tensor infos, alignment.
/// Every count and length is checked against the limits below and against the bytes left in the file before anything is
/// allocated from it, and every tensor's data range is checked to lie inside the file.
/// </summary>
public static class GgufReader
{
    /// <summary>"GGUF" read as a little-endian u32.</summary>
    public const uint Magic = 0x46554747;
    /// <summary>Alignment of the data section when general.alignment is absent.</summary>
    public const int DefaultAlignment = 32;
    /// <summary>Longest metadata string, key or tensor name accepted (16 MiB).</summary>
    public const long MaxStringLength = 16L * 1024 * 1024;
    /// <summary>Longest metadata array accepted (64 Mi entries).</summary>
    public const long MaxArrayLength = 64L * 1024 * 1024;
    /// <summary>Most tensors a file may declare.</summary>
    public const long MaxTensorCount = 65536;
    /// <summary>Most metadata entries a file may declare.</summary>
    public const long MaxMetadataCount = 1 << 20;
    /// <summary>Most dimensions of one tensor (ggml's GGML_MAX_DIMS).</summary>
    public const int MaxDimensions = 4;
    /// <summary>Deepest nesting of arrays inside arrays.</summary>
    public const int MaxArrayNesting = 2;
    /// <summary>The metadata key that overrides <see cref="DefaultAlignment"/>.</summary>
    public const string AlignmentKey = "general.alignment";

    /// <summary>Reads the header of a GGUF file (tensor data stays on disk until <see cref="GgufFile.ReadTensor"/>).</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="ModelFormatException">Missing, truncated, corrupt or beyond the limits.</exception>
    public static GgufFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelFormatException(path, "file not found.", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelFormatException(path, $"cannot open the file: {ex.Message}", ex);
        }
        using (stream)
        {
            return Parse(new BoundedBinaryReader(stream, stream.Length, path));
        }
    }

    private static GgufFile Parse(BoundedBinaryReader reader)
    {
        string path = reader.Path;
        if (reader.Length < 4)
            throw new ModelFormatException(path, $"file is {reader.Length} bytes, too short for the GGUF magic.");
        uint magic = reader.ReadUInt32("magic");
        if (magic != Magic)
            throw new ModelFormatException(path, $"not a GGUF file (magic 0x{magic:X8}, expected 0x{Magic:X8} \"GGUF\").");
        uint version = reader.ReadUInt32("version");
        if (version is not (2 or 3))
        {
            string why = version == 1 ? "GGUF v1 (32-bit counts) is obsolete"
                : (version & 0xFFFF) == 0 && version != 0 ? "this looks like a big-endian GGUF, which is not supported"
                : "only versions 2 and 3 are supported";
            throw new ModelFormatException(path, $"GGUF version {version}: {why}.");
        }
        ulong tensorCount = reader.ReadUInt64("tensor_count");
        if (tensorCount > MaxTensorCount)
            throw new ModelFormatException(path, $"tensor_count {tensorCount} exceeds the limit of {MaxTensorCount}.");
        ulong metadataCount = reader.ReadUInt64("metadata_kv_count");
        if (metadataCount > MaxMetadataCount)
            throw new ModelFormatException(path, $"metadata_kv_count {metadataCount} exceeds the limit of {MaxMetadataCount}.");

        var metadata = new Dictionary<string, object>(StringComparer.Ordinal);
        var types = new Dictionary<string, GgufValueType>(StringComparer.Ordinal);
        for (ulong i = 0; i < metadataCount; i++)
        {
            string key = reader.ReadString(MaxStringLength, $"metadata key #{i}");
            var type = (GgufValueType)reader.ReadUInt32($"value type of metadata '{key}'");
            object value = ReadValue(reader, type, key, depth: 0);
            if (!metadata.TryAdd(key, value))
                throw new ModelFormatException(path, $"metadata key '{key}' appears twice.");
            types[key] = type;
        }

        int alignment = DefaultAlignment;
        if (metadata.TryGetValue(AlignmentKey, out object? alignmentValue))
        {
            if (!GgufFile.TryConvertToUInt32(alignmentValue, out uint requested) || requested == 0 || (requested & (requested - 1)) != 0 || requested > 1 << 20)
                throw new ModelFormatException(path, $"metadata '{AlignmentKey}' = {alignmentValue} is not a power of two between 1 and 2^20.");
            alignment = (int)requested;
        }

        var tensors = new List<GgufTensorInfo>((int)Math.Min(tensorCount, 1024));
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < tensorCount; i++)
        {
            GgufTensorInfo info = ReadTensorInfo(reader, i, alignment);
            if (!names.Add(info.Name))
                throw new ModelFormatException(path, $"tensor '{info.Name}' appears twice.");
            tensors.Add(info);
        }

        long dataOffset = AlignUp(reader.Position, alignment);
        CheckDataRanges(path, tensors, dataOffset, reader.Length);
        return new GgufFile(path, version, alignment, dataOffset, reader.Length, metadata, types, tensors);
    }

    private static GgufTensorInfo ReadTensorInfo(BoundedBinaryReader reader, ulong index, int alignment)
    {
        string path = reader.Path;
        string name = reader.ReadString(MaxStringLength, $"name of tensor #{index}");
        uint dimensionCount = reader.ReadUInt32($"dimension count of tensor '{name}'");
        if (dimensionCount is 0 or > MaxDimensions)
            throw new ModelFormatException(path, $"tensor '{name}' declares {dimensionCount} dimensions; 1 to {MaxDimensions} are accepted.");
        var dimensions = new long[dimensionCount];
        long elements = 1;
        for (int d = 0; d < dimensionCount; d++)
        {
            ulong size = reader.ReadUInt64($"dimension {d} of tensor '{name}'");
            if (size > long.MaxValue)
                throw new ModelFormatException(path, $"tensor '{name}' dimension {d} is {size}, which does not fit a signed 64-bit size.");
            dimensions[d] = (long)size;
            if (elements != 0 && dimensions[d] > long.MaxValue / Math.Max(elements, 1))
                throw new ModelFormatException(path, $"tensor '{name}' has dimensions whose product overflows 64 bits.");
            elements *= dimensions[d];
        }
        var type = (GgufTensorType)reader.ReadUInt32($"type of tensor '{name}'");
        ulong offset = reader.ReadUInt64($"data offset of tensor '{name}'");
        if (offset > (ulong)reader.Length)
            throw new ModelFormatException(path, $"tensor '{name}' data offset {offset} lies beyond the end of the file ({reader.Length} bytes).");
        if (offset % (ulong)alignment != 0)
            throw new ModelFormatException(path, $"tensor '{name}' data offset {offset} is not a multiple of the alignment {alignment}.");

        long? byteSize = null;
        if (TryGetBlockLayout(type, out int blockValues, out int blockBytes))
        {
            if (dimensions[0] % blockValues != 0)
                throw new ModelFormatException(path, $"tensor '{name}' of type {type} has an innermost dimension {dimensions[0]} that is not a multiple of its block size {blockValues}.");
            long blocks = elements / blockValues;
            if (blocks > long.MaxValue / blockBytes)
                throw new ModelFormatException(path, $"tensor '{name}' is too large to address.");
            byteSize = blocks * blockBytes;
        }
        return new GgufTensorInfo(name, dimensions, type, (long)offset, byteSize);
    }

    private static void CheckDataRanges(string path, List<GgufTensorInfo> tensors, long dataOffset, long fileLength)
    {
        if (tensors.Count > 0 && dataOffset > fileLength)
            throw new ModelFormatException(path, $"truncated: the tensor data section should start at byte {dataOffset} but the file ends at {fileLength}.");
        foreach (GgufTensorInfo info in tensors)
        {
            long size = info.ByteSize ?? 0;
            if (info.Offset > fileLength - dataOffset || size > fileLength - dataOffset - info.Offset)
                throw new ModelFormatException(path, $"tensor '{info.Name}' data [{dataOffset + info.Offset}, {dataOffset + info.Offset + size}) lies outside the file ({fileLength} bytes).");
        }
        GgufTensorInfo? previous = null;
        foreach (GgufTensorInfo info in tensors.Where(t => t.ByteSize > 0).OrderBy(t => t.Offset))
        {
            if (previous is not null && info.Offset < previous.Offset + previous.ByteSize!.Value)
                throw new ModelFormatException(path, $"data of tensors '{previous.Name}' and '{info.Name}' overlap.");
            previous = info;
        }
    }

    private static object ReadValue(BoundedBinaryReader reader, GgufValueType type, string key, int depth)
    {
        string what = $"value of metadata '{key}'";
        return type switch
        {
            GgufValueType.UInt8 => reader.ReadByte(what),
            GgufValueType.Int8 => (sbyte)reader.ReadByte(what),
            GgufValueType.UInt16 => reader.ReadUInt16(what),
            GgufValueType.Int16 => (short)reader.ReadUInt16(what),
            GgufValueType.UInt32 => reader.ReadUInt32(what),
            GgufValueType.Int32 => reader.ReadInt32(what),
            GgufValueType.Float32 => reader.ReadSingle(what),
            GgufValueType.Bool => ReadBool(reader, key, what),
            GgufValueType.String => reader.ReadString(MaxStringLength, what),
            GgufValueType.UInt64 => reader.ReadUInt64(what),
            GgufValueType.Int64 => reader.ReadInt64(what),
            GgufValueType.Float64 => reader.ReadDouble(what),
            GgufValueType.Array => ReadArray(reader, key, depth),
            _ => throw new ModelFormatException(reader.Path, $"metadata '{key}' has unknown value type {(uint)type}."),
        };
    }

    private static bool ReadBool(BoundedBinaryReader reader, string key, string what)
    {
        byte value = reader.ReadByte(what);
        return value switch
        {
            0 => false,
            1 => true,
            _ => throw new ModelFormatException(reader.Path, $"metadata '{key}' holds boolean byte {value}, not 0 or 1."),
        };
    }

    private static object ReadArray(BoundedBinaryReader reader, string key, int depth)
    {
        string path = reader.Path;
        var elementType = (GgufValueType)reader.ReadUInt32($"element type of metadata array '{key}'");
        ulong count = reader.ReadUInt64($"length of metadata array '{key}'");
        if (count > MaxArrayLength)
            throw new ModelFormatException(path, $"metadata array '{key}' claims {count} entries, above the limit of {MaxArrayLength}.");
        int minimumSize = elementType switch
        {
            GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
            GgufValueType.UInt16 or GgufValueType.Int16 => 2,
            GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
            GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 or GgufValueType.String => 8,
            GgufValueType.Array => 12,
            _ => throw new ModelFormatException(path, $"metadata array '{key}' has unknown element type {(uint)elementType}."),
        };
        if (elementType == GgufValueType.Array && depth + 1 >= MaxArrayNesting)
            throw new ModelFormatException(path, $"metadata array '{key}' nests arrays deeper than {MaxArrayNesting} levels.");
        int n = (int)count;
        reader.Require((long)count * minimumSize, $"the {count} entries of metadata array '{key}'");
        string what = $"entry of metadata array '{key}'";
        switch (elementType)
        {
            case GgufValueType.UInt8: return reader.ReadBytes(n, what);
            case GgufValueType.Int8: return Fill(new sbyte[n], _ => (sbyte)reader.ReadByte(what));
            case GgufValueType.UInt16: return Fill(new ushort[n], _ => reader.ReadUInt16(what));
            case GgufValueType.Int16: return Fill(new short[n], _ => (short)reader.ReadUInt16(what));
            case GgufValueType.UInt32: return Fill(new uint[n], _ => reader.ReadUInt32(what));
            case GgufValueType.Int32: return Fill(new int[n], _ => reader.ReadInt32(what));
            case GgufValueType.Float32: return Fill(new float[n], _ => reader.ReadSingle(what));
            case GgufValueType.Bool: return Fill(new bool[n], _ => ReadBool(reader, key, what));
            case GgufValueType.UInt64: return Fill(new ulong[n], _ => reader.ReadUInt64(what));
            case GgufValueType.Int64: return Fill(new long[n], _ => reader.ReadInt64(what));
            case GgufValueType.Float64: return Fill(new double[n], _ => reader.ReadDouble(what));
            case GgufValueType.String: return Fill(new string[n], _ => reader.ReadString(MaxStringLength, what));
            default: return Fill(new object[n], _ => ReadArray(reader, key, depth + 1));
        }
    }

    private static T[] Fill<T>(T[] array, Func<int, T> read)
    {
        for (int i = 0; i < array.Length; i++) array[i] = read(i);
        return array;
    }

    /// <summary>Values per block and bytes per block of a ggml type, when known.</summary>
    public static bool TryGetBlockLayout(GgufTensorType type, out int blockValues, out int blockBytes)
    {
        (blockValues, blockBytes) = type switch
        {
            GgufTensorType.F32 => (1, 4),
            GgufTensorType.F16 or GgufTensorType.BF16 => (1, 2),
            GgufTensorType.Q4_0 => (32, 18),
            GgufTensorType.Q4_1 => (32, 20),
            GgufTensorType.Q5_0 => (32, 22),
            GgufTensorType.Q5_1 => (32, 24),
            GgufTensorType.Q8_0 => (32, 34),
            GgufTensorType.Q8_1 => (32, 36),
            GgufTensorType.Q2_K => (256, 84),
            GgufTensorType.Q3_K => (256, 110),
            GgufTensorType.Q4_K => (256, 144),
            GgufTensorType.Q5_K => (256, 176),
            GgufTensorType.Q6_K => (256, 210),
            GgufTensorType.Q8_K => (256, 292),
            GgufTensorType.IQ2_XXS => (256, 66),
            GgufTensorType.IQ2_XS => (256, 74),
            GgufTensorType.IQ3_XXS => (256, 98),
            GgufTensorType.IQ1_S => (256, 50),
            GgufTensorType.IQ4_NL => (32, 18),
            GgufTensorType.IQ3_S => (256, 110),
            GgufTensorType.IQ2_S => (256, 82),
            GgufTensorType.IQ4_XS => (256, 136),
            GgufTensorType.I8 => (1, 1),
            GgufTensorType.I16 => (1, 2),
            GgufTensorType.I32 => (1, 4),
            GgufTensorType.I64 or GgufTensorType.F64 => (1, 8),
            GgufTensorType.IQ1_M => (256, 56),
            _ => (0, 0),
        };
        return blockValues > 0;
    }

    internal static long AlignUp(long position, int alignment) => (position + alignment - 1) / alignment * alignment;
}
