using System.Text;

namespace QuickSilver.Engine.Tests.Loading;

/// <summary>Hand-assembled GGUF bytes for tests that need exact control (independent of GgufWriter).</summary>
internal sealed class RawGguf
{
    private readonly MemoryStream _metadata = new();
    private readonly MemoryStream _tensorInfos = new();
    private int _kvCount;
    private int _tensorCount;

    public uint Version { get; init; } = 3;
    public ulong? TensorCountOverride { get; init; }
    public ulong? KvCountOverride { get; init; }

    public RawGguf String(string key, string value)
    {
        var w = new BinaryWriter(_metadata);
        WriteString(w, key);
        w.Write(8u);
        WriteString(w, value);
        _kvCount++;
        return this;
    }

    public RawGguf UInt32(string key, uint value)
    {
        var w = new BinaryWriter(_metadata);
        WriteString(w, key);
        w.Write(4u);
        w.Write(value);
        _kvCount++;
        return this;
    }

    /// <summary>Raw metadata bytes (key, type and value written by the caller).</summary>
    public RawGguf RawMetadata(Action<BinaryWriter> write)
    {
        write(new BinaryWriter(_metadata));
        _kvCount++;
        return this;
    }

    public RawGguf Tensor(string name, ulong[] ne, uint type, ulong offset)
    {
        var w = new BinaryWriter(_tensorInfos);
        WriteString(w, name);
        w.Write((uint)ne.Length);
        foreach (ulong n in ne) w.Write(n);
        w.Write(type);
        w.Write(offset);
        _tensorCount++;
        return this;
    }

    public byte[] Build(byte[]? data = null, int alignment = 32)
    {
        using var stream = new MemoryStream();
        var w = new BinaryWriter(stream);
        w.Write(Encoding.ASCII.GetBytes("GGUF"));
        w.Write(Version);
        w.Write(TensorCountOverride ?? (ulong)_tensorCount);
        w.Write(KvCountOverride ?? (ulong)_kvCount);
        w.Write(_metadata.ToArray());
        w.Write(_tensorInfos.ToArray());
        if (data is not null)
        {
            while (stream.Length % alignment != 0) w.Write((byte)0);
            w.Write(data);
        }
        w.Flush();
        return stream.ToArray();
    }

    public static void WriteString(BinaryWriter w, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }
}
