using System.Text;
using System.Text.Json;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Tests.Loading;

/// <summary>A minimal safetensors writer for tests (independent of the reader under test).</summary>
internal static class SafetensorsTestWriter
{
    public sealed record Entry(string Name, string DType, long[] Shape, byte[] Data);

    public static Entry F32(string name, long[] shape, float[] values)
    {
        var bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return new Entry(name, "F32", shape, bytes);
    }

    public static Entry F16(string name, long[] shape, float[] values)
    {
        var bytes = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++) BitConverter.TryWriteBytes(bytes.AsSpan(2 * i), BitConverter.HalfToUInt16Bits((Half)values[i]));
        return new Entry(name, "F16", shape, bytes);
    }

    public static Entry BF16(string name, long[] shape, float[] values)
    {
        var bytes = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++)
        {
            // Truncation (not rounding) keeps this writer independent of HalfConversions under test.
            ushort bits = (ushort)(BitConverter.SingleToUInt32Bits(values[i]) >> 16);
            BitConverter.TryWriteBytes(bytes.AsSpan(2 * i), bits);
        }
        return new Entry(name, "BF16", shape, bytes);
    }

    public static byte[] Build(IEnumerable<Entry> entries, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new Dictionary<string, object>();
        if (metadata is not null) header["__metadata__"] = metadata;
        long offset = 0;
        var data = new MemoryStream();
        foreach (Entry entry in entries)
        {
            header[entry.Name] = new { dtype = entry.DType, shape = entry.Shape, data_offsets = new[] { offset, offset + entry.Data.Length } };
            data.Write(entry.Data);
            offset += entry.Data.Length;
        }
        return Assemble(JsonSerializer.Serialize(header), data.ToArray());
    }

    /// <summary>Header text padded with spaces to a multiple of 8, as the reference writer does.</summary>
    public static byte[] Assemble(string headerJson, byte[] data)
    {
        byte[] header = Encoding.UTF8.GetBytes(headerJson);
        int padded = (header.Length + 7) / 8 * 8;
        var result = new byte[8 + padded + data.Length];
        BitConverter.TryWriteBytes(result.AsSpan(0, 8), (ulong)padded);
        header.CopyTo(result, 8);
        for (int i = 8 + header.Length; i < 8 + padded; i++) result[i] = (byte)' ';
        data.CopyTo(result, 8 + padded);
        return result;
    }

    public static void Write(string path, IEnumerable<Entry> entries, IReadOnlyDictionary<string, string>? metadata = null) =>
        File.WriteAllBytes(path, Build(entries, metadata));

    /// <summary>Every tensor of a real file, re-encoded as F32 entries in file order (keys optionally renamed or dropped).</summary>
    public static List<Entry> CopyEntries(string path, Func<string, string?>? rename = null)
    {
        var result = new List<Entry>();
        using SafetensorsFile file = SafetensorsReader.Open(path);
        foreach (SafetensorsTensorInfo info in file.Tensors.Values.OrderBy(t => t.Begin))
        {
            string? name = rename is null ? info.Name : rename(info.Name);
            if (name is null) continue;
            result.Add(F32(name, info.Shape, file.ReadFloat32(info.Name)));
        }
        return result;
    }
}
