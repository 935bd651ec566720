using System.Text;

namespace QuickSilver.Engine.Tests.Tokenization;

/// <summary>
/// TEST-ONLY: reads the header and metadata key/values of a GGUF v2/v3 file (no tensors), just enough to get the
/// tokenizer arrays out of stories260K.gguf. The engine's own GGUF reader lives elsewhere.
/// </summary>
internal sealed class TestGgufMetadata
{
    private readonly Dictionary<string, object> _values;

    private TestGgufMetadata(Dictionary<string, object> values) => _values = values;

    public IReadOnlyDictionary<string, object> Values => _values;

    public static TestGgufMetadata Read(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
        if (reader.ReadUInt32() != 0x46554747) throw new InvalidDataException("not GGUF");
        uint version = reader.ReadUInt32();
        if (version is < 2 or > 3) throw new InvalidDataException($"GGUF version {version}");
        reader.ReadUInt64(); // tensor count
        ulong kvCount = reader.ReadUInt64();
        var values = new Dictionary<string, object>();
        for (ulong i = 0; i < kvCount; i++)
        {
            string key = ReadString(reader);
            values[key] = ReadValue(reader, reader.ReadUInt32());
        }
        return new TestGgufMetadata(values);
    }

    public string[] GetStrings(string key) => ((object[])_values[key]).Cast<string>().ToArray();
    public float[] GetFloats(string key) => ((object[])_values[key]).Cast<float>().ToArray();
    public int[] GetInts(string key) => ((object[])_values[key]).Cast<int>().ToArray();
    public uint GetUInt32(string key) => (uint)_values[key];

    private static string ReadString(BinaryReader reader) => Encoding.UTF8.GetString(reader.ReadBytes(checked((int)reader.ReadUInt64())));

    private static object ReadValue(BinaryReader reader, uint type) => type switch
    {
        0 => reader.ReadByte(),
        1 => reader.ReadSByte(),
        2 => reader.ReadUInt16(),
        3 => reader.ReadInt16(),
        4 => reader.ReadUInt32(),
        5 => reader.ReadInt32(),
        6 => reader.ReadSingle(),
        7 => reader.ReadByte() != 0,
        8 => ReadString(reader),
        9 => ReadArray(reader),
        10 => reader.ReadUInt64(),
        11 => reader.ReadInt64(),
        12 => reader.ReadDouble(),
        _ => throw new InvalidDataException($"GGUF value type {type}"),
    };

    private static object[] ReadArray(BinaryReader reader)
    {
        uint elementType = reader.ReadUInt32();
        var items = new object[checked((int)reader.ReadUInt64())];
        for (int i = 0; i < items.Length; i++) items[i] = ReadValue(reader, elementType);
        return items;
    }
}
