using System.Buffers.Binary;
using System.Text;

namespace QuickSilver.Engine.Loading;

/// <summary>Sequential little-endian reads that never run past the end of the stream and say which field was cut off.</summary>
internal sealed class BoundedBinaryReader
{
    private readonly Stream _stream;
    private readonly byte[] _scratch = new byte[8];

    public BoundedBinaryReader(Stream stream, long length, string path)
    {
        _stream = stream;
        Length = length;
        Path = path;
    }

    public string Path { get; }

    public long Length { get; }

    public long Position { get; private set; }

    public long Remaining => Length - Position;

    public void Require(long bytes, string what)
    {
        if (bytes < 0 || bytes > Remaining)
            throw new ModelFormatException(Path, $"truncated: {what} needs {bytes} bytes at offset {Position} but the file ends at {Length}.");
    }

    public byte[] ReadBytes(long count, string what)
    {
        Require(count, what);
        var bytes = new byte[count];
        Fill(bytes, what);
        return bytes;
    }

    public byte ReadByte(string what) => Read(1, what)[0];

    public ushort ReadUInt16(string what) => BinaryPrimitives.ReadUInt16LittleEndian(Read(2, what));

    public uint ReadUInt32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Read(4, what));

    public int ReadInt32(string what) => BinaryPrimitives.ReadInt32LittleEndian(Read(4, what));

    public ulong ReadUInt64(string what) => BinaryPrimitives.ReadUInt64LittleEndian(Read(8, what));

    public long ReadInt64(string what) => BinaryPrimitives.ReadInt64LittleEndian(Read(8, what));

    public float ReadSingle(string what) => BinaryPrimitives.ReadSingleLittleEndian(Read(4, what));

    public double ReadDouble(string what) => BinaryPrimitives.ReadDoubleLittleEndian(Read(8, what));

    /// <summary>A u64-length-prefixed UTF-8 string, its length checked against <paramref name="maxLength"/> and the file before allocating.</summary>
    public string ReadString(long maxLength, string what)
    {
        ulong length = ReadUInt64($"length of {what}");
        if (length > (ulong)maxLength)
            throw new ModelFormatException(Path, $"{what} claims a length of {length} bytes, above the {maxLength}-byte limit.");
        Require((long)length, what);
        return Encoding.UTF8.GetString(ReadBytes((long)length, what));
    }

    private ReadOnlySpan<byte> Read(int count, string what)
    {
        Require(count, what);
        Span<byte> span = _scratch.AsSpan(0, count);
        Fill(span, what);
        return span;
    }

    private void Fill(Span<byte> destination, string what)
    {
        try
        {
            _stream.ReadExactly(destination);
        }
        catch (EndOfStreamException ex)
        {
            throw new ModelFormatException(Path, $"unexpected end of file at offset {Position} while reading {what}.", ex);
        }
        Position += destination.Length;
    }
}
