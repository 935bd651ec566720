using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace QuickSilver.Engine.Loading;

/// <summary>Bounded positional reads of float data from an open file, converting half precision on the fly.</summary>
internal static class FileSlice
{
    private const int ChunkBytes = 1 << 22;

    /// <summary>Opens a file for reading, turning "not there" into a <see cref="ModelFormatException"/> that names it.</summary>
    public static SafeFileHandle OpenRead(string path)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelFormatException(path, "file not found.", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelFormatException(path, $"cannot open the file: {ex.Message}", ex);
        }
    }

    public static void ReadExactly(SafeFileHandle handle, long offset, Span<byte> destination, string path, string what)
    {
        while (destination.Length > 0)
        {
            int read = RandomAccess.Read(handle, destination, offset);
            if (read <= 0) throw new ModelFormatException(path, $"unexpected end of file at byte {offset} while reading {what}.");
            destination = destination[read..];
            offset += read;
        }
    }

    /// <summary>Allocates a float array for <paramref name="count"/> elements after checking it can exist.</summary>
    public static float[] AllocateFloats(long count, string path, string tensor)
    {
        if (count < 0 || count > Array.MaxLength)
            throw new ModelFormatException(path, $"tensor '{tensor}' has {count} elements, more than one host array can hold ({Array.MaxLength}).");
        return new float[count];
    }

    /// <summary>Reads <paramref name="destination"/>.Length little-endian float32 values starting at <paramref name="offset"/>.</summary>
    public static void ReadFloat32(SafeFileHandle handle, long offset, Span<float> destination, string path, string tensor)
    {
        while (destination.Length > 0)
        {
            int count = Math.Min(destination.Length, ChunkBytes / sizeof(float));
            Span<float> chunk = destination[..count];
            ReadExactly(handle, offset, MemoryMarshal.AsBytes(chunk), path, $"tensor '{tensor}'");
            if (!BitConverter.IsLittleEndian)
            {
                Span<int> bits = MemoryMarshal.Cast<float, int>(chunk);
                BinaryPrimitives.ReverseEndianness(bits, bits);
            }
            destination = destination[count..];
            offset += (long)count * sizeof(float);
        }
    }

    /// <summary>Reads 16-bit values (IEEE half or bfloat16) and widens them to float32.</summary>
    public static void ReadHalf(SafeFileHandle handle, long offset, Span<float> destination, bool bfloat16, string path, string tensor)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Min(ChunkBytes, Math.Max(2, destination.Length * 2)));
        try
        {
            while (destination.Length > 0)
            {
                int count = Math.Min(destination.Length, buffer.Length / 2);
                Span<byte> bytes = buffer.AsSpan(0, count * 2);
                ReadExactly(handle, offset, bytes, path, $"tensor '{tensor}'");
                if (bfloat16) HalfConversions.BFloat16ToSingle(bytes, destination[..count]);
                else HalfConversions.HalfToSingle(bytes, destination[..count]);
                destination = destination[count..];
                offset += count * 2L;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
