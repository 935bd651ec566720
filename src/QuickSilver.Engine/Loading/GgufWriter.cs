using System.Text;

namespace QuickSilver.Engine.Loading;

/// <summary>
/// Writes GGUF v3 files: metadata in insertion order, then tensor infos, then aligned tensor data. Tensors are given as
/// float32 in PyTorch shape order and encoded (quantized, for Q8_0/Q4_0) on the way in.
/// </summary>
public sealed class GgufWriter
{
    private readonly List<(string Key, GgufValueType Type, object Value)> _metadata = [];
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    private readonly List<(string Name, long[] Dimensions, GgufTensorType Type, byte[] Data)> _tensors = [];
    private readonly HashSet<string> _tensorNames = new(StringComparer.Ordinal);

    /// <summary>Creates a writer.</summary>
    /// <param name="alignment">Data alignment; a power of two. Written as general.alignment when not the default 32.</param>
    public GgufWriter(int alignment = GgufReader.DefaultAlignment)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(alignment);
        if ((alignment & (alignment - 1)) != 0) throw new ArgumentException($"Alignment {alignment} is not a power of two.", nameof(alignment));
        Alignment = alignment;
        if (alignment != GgufReader.DefaultAlignment) AddMetadata(GgufReader.AlignmentKey, (uint)alignment);
    }

    /// <summary>The data alignment.</summary>
    public int Alignment { get; }

    /// <summary>
    /// Adds a metadata value. Its GGUF type follows its CLR type: byte, sbyte, ushort, short, uint, int, float, bool,
    /// string, ulong, long, double, or a one-dimensional array of one of those.
    /// </summary>
    /// <exception cref="ArgumentException">Duplicate key or unsupported value type.</exception>
    public GgufWriter AddMetadata(string key, object value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        GgufValueType type = value is Array ? GgufValueType.Array : ScalarType(value.GetType())
            ?? throw new ArgumentException($"Metadata '{key}' has unsupported type {value.GetType().Name}.", nameof(value));
        if (value is Array array && (array.Rank != 1 || ScalarType(array.GetType().GetElementType()!) is null))
            throw new ArgumentException($"Metadata '{key}' must be a one-dimensional array of a scalar type, not {value.GetType().Name}.", nameof(value));
        if (!_keys.Add(key)) throw new ArgumentException($"Metadata '{key}' was already added.", nameof(key));
        _metadata.Add((key, type, value));
        return this;
    }

    /// <summary>Adds a tensor.</summary>
    /// <param name="name">Tensor name.</param>
    /// <param name="shape">PyTorch shape, outermost first (written as ggml ne, innermost first); 1 to 4 dimensions.</param>
    /// <param name="data">Row-major values; length = product of <paramref name="shape"/>.</param>
    /// <param name="type">F32, F16, BF16, Q8_0 or Q4_0 (the quantized types need the last dimension to be a multiple of 32).</param>
    /// <exception cref="ArgumentException">Inconsistent shape, data or type.</exception>
    public GgufWriter AddTensor(string name, long[] shape, float[] data, GgufTensorType type = GgufTensorType.F32)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        if (shape.Length is 0 or > GgufReader.MaxDimensions)
            throw new ArgumentException($"Tensor '{name}' has {shape.Length} dimensions; 1 to {GgufReader.MaxDimensions} are supported.", nameof(shape));
        if (shape.Any(s => s < 0) || shape.Aggregate(1L, (a, b) => a * b) != data.LongLength)
            throw new ArgumentException($"Tensor '{name}' shape {WeightLayout.FormatShape(shape)} does not match {data.Length} values.", nameof(shape));
        if (!_tensorNames.Add(name)) throw new ArgumentException($"Tensor '{name}' was already added.", nameof(name));

        byte[] encoded;
        switch (type)
        {
            case GgufTensorType.F32:
                encoded = new byte[data.Length * 4L];
                Buffer.BlockCopy(data, 0, encoded, 0, encoded.Length);
                if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("GGUF writing needs a little-endian host.");
                break;
            case GgufTensorType.F16:
                encoded = new byte[data.Length * 2L];
                HalfConversions.SingleToHalf(data, encoded);
                break;
            case GgufTensorType.BF16:
                encoded = new byte[data.Length * 2L];
                HalfConversions.SingleToBFloat16(data, encoded);
                break;
            case GgufTensorType.Q8_0:
            case GgufTensorType.Q4_0:
                if (shape[^1] % GgmlQuantization.BlockSize != 0)
                {
                    _tensorNames.Remove(name);
                    throw new ArgumentException($"Tensor '{name}' last dimension {shape[^1]} is not a multiple of {GgmlQuantization.BlockSize}, required by {type}.", nameof(shape));
                }
                int blocks = data.Length / GgmlQuantization.BlockSize;
                if (type == GgufTensorType.Q8_0)
                {
                    encoded = new byte[(long)blocks * GgmlQuantization.Q8_0BlockBytes];
                    GgmlQuantization.QuantizeQ8_0(data, encoded);
                }
                else
                {
                    encoded = new byte[(long)blocks * GgmlQuantization.Q4_0BlockBytes];
                    GgmlQuantization.QuantizeQ4_0(data, encoded);
                }
                break;
            default:
                _tensorNames.Remove(name);
                throw new ArgumentException($"Tensor '{name}': writing type {type} is not supported.", nameof(type));
        }
        _tensors.Add((name, [.. shape.Reverse()], type, encoded));
        return this;
    }

    /// <summary>
    /// Adds a tensor whose bytes are already encoded in <paramref name="type"/> (e.g. blocks another quantizer wrote).
    /// Any type with a known ggml block layout is accepted, including ones the engine cannot decode.
    /// </summary>
    /// <param name="name">Tensor name.</param>
    /// <param name="shape">PyTorch shape, outermost first; the last dimension must be a multiple of the type's block size.</param>
    /// <param name="type">The bytes' ggml type.</param>
    /// <param name="data">Whole blocks, row after row.</param>
    /// <exception cref="ArgumentException">Unknown type, or a shape the bytes do not fill exactly.</exception>
    public GgufWriter AddEncodedTensor(string name, long[] shape, GgufTensorType type, byte[] data)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        if (shape.Length is 0 or > GgufReader.MaxDimensions)
            throw new ArgumentException($"Tensor '{name}' has {shape.Length} dimensions; 1 to {GgufReader.MaxDimensions} are supported.", nameof(shape));
        if (!GgufReader.TryGetBlockLayout(type, out int blockValues, out int blockBytes))
            throw new ArgumentException($"Tensor '{name}': type {(uint)type} has no known block layout.", nameof(type));
        if (shape.Any(s => s <= 0) || shape[^1] % blockValues != 0)
            throw new ArgumentException($"Tensor '{name}' shape {WeightLayout.FormatShape(shape)} does not fit {type}'s {blockValues}-value blocks.", nameof(shape));
        long expected = shape.Aggregate(1L, (a, b) => a * b) / blockValues * blockBytes;
        if (data.LongLength != expected)
            throw new ArgumentException($"Tensor '{name}' of shape {WeightLayout.FormatShape(shape)} in {type} takes {expected} bytes, got {data.LongLength}.", nameof(data));
        if (!_tensorNames.Add(name)) throw new ArgumentException($"Tensor '{name}' was already added.", nameof(name));
        _tensors.Add((name, [.. shape.Reverse()], type, data));
        return this;
    }

    /// <summary>Writes the file.</summary>
    public void Write(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using FileStream stream = File.Create(path);
        WriteTo(stream);
    }

    /// <summary>Writes the GGUF bytes to a stream.</summary>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(GgufReader.Magic);
        writer.Write(3u);
        writer.Write((ulong)_tensors.Count);
        writer.Write((ulong)_metadata.Count);
        foreach ((string key, GgufValueType type, object value) in _metadata)
        {
            WriteString(writer, key);
            writer.Write((uint)type);
            WriteValue(writer, type, value);
        }

        long offset = 0;
        var offsets = new long[_tensors.Count];
        for (int i = 0; i < _tensors.Count; i++)
        {
            (string name, long[] dimensions, GgufTensorType type, byte[] data) = _tensors[i];
            WriteString(writer, name);
            writer.Write((uint)dimensions.Length);
            foreach (long dimension in dimensions) writer.Write((ulong)dimension);
            writer.Write((uint)type);
            offsets[i] = offset;
            writer.Write((ulong)offset);
            offset = GgufReader.AlignUp(offset + data.Length, Alignment);
        }

        writer.Flush();
        long headerEnd = stream.Position;
        Pad(writer, GgufReader.AlignUp(headerEnd, Alignment) - headerEnd);
        for (int i = 0; i < _tensors.Count; i++)
        {
            byte[] data = _tensors[i].Data;
            writer.Write(data);
            if (i + 1 < _tensors.Count) Pad(writer, offsets[i + 1] - offsets[i] - data.Length);
        }
        writer.Flush();
    }

    private static void Pad(BinaryWriter writer, long count)
    {
        for (long i = 0; i < count; i++) writer.Write((byte)0);
    }

    private static void WriteString(BinaryWriter writer, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }

    private static void WriteValue(BinaryWriter writer, GgufValueType type, object value)
    {
        switch (type)
        {
            case GgufValueType.UInt8: writer.Write((byte)value); break;
            case GgufValueType.Int8: writer.Write((sbyte)value); break;
            case GgufValueType.UInt16: writer.Write((ushort)value); break;
            case GgufValueType.Int16: writer.Write((short)value); break;
            case GgufValueType.UInt32: writer.Write((uint)value); break;
            case GgufValueType.Int32: writer.Write((int)value); break;
            case GgufValueType.Float32: writer.Write((float)value); break;
            case GgufValueType.Bool: writer.Write((bool)value ? (byte)1 : (byte)0); break;
            case GgufValueType.String: WriteString(writer, (string)value); break;
            case GgufValueType.UInt64: writer.Write((ulong)value); break;
            case GgufValueType.Int64: writer.Write((long)value); break;
            case GgufValueType.Float64: writer.Write((double)value); break;
            case GgufValueType.Array:
                var array = (Array)value;
                GgufValueType elementType = ScalarType(array.GetType().GetElementType()!)!.Value;
                writer.Write((uint)elementType);
                writer.Write((ulong)array.Length);
                foreach (object item in array) WriteValue(writer, elementType, item);
                break;
            default:
                throw new InvalidOperationException($"Unhandled GGUF value type {type}.");
        }
    }

    private static GgufValueType? ScalarType(Type type) =>
        type == typeof(byte) ? GgufValueType.UInt8
        : type == typeof(sbyte) ? GgufValueType.Int8
        : type == typeof(ushort) ? GgufValueType.UInt16
        : type == typeof(short) ? GgufValueType.Int16
        : type == typeof(uint) ? GgufValueType.UInt32
        : type == typeof(int) ? GgufValueType.Int32
        : type == typeof(float) ? GgufValueType.Float32
        : type == typeof(bool) ? GgufValueType.Bool
        : type == typeof(string) ? GgufValueType.String
        : type == typeof(ulong) ? GgufValueType.UInt64
        : type == typeof(long) ? GgufValueType.Int64
        : type == typeof(double) ? GgufValueType.Float64
        : null;
}
