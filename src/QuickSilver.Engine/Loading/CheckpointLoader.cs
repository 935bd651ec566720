using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace QuickSilver.Engine.Loading;

/// <summary>Loads any supported checkpoint, choosing the format from what the path is.</summary>
public static class CheckpointLoader
{
    /// <summary>
    /// Loads <paramref name="path"/>: a folder with config.json (or a config.json / .safetensors file inside one) is a Hugging Face
    /// checkpoint, a *.gguf file or a file starting with "GGUF" is GGUF, anything else is read as a llama2.c .bin.
    /// </summary>
    /// <param name="path">File or folder.</param>
    /// <exception cref="ModelFormatException">Nothing is there, or the format's loader rejects it.</exception>
    public static CheckpointData Load(string path) => Load(path, keepQuantized: false);

    /// <summary>
    /// As <see cref="Load(string)"/>, optionally keeping GGUF quantized and F16/BF16 matrices in their blocks (see
    /// <see cref="GgufLoader.Load(string, bool)"/>) and Hugging Face F16/BF16 matrices 16-bit.
    /// </summary>
    public static CheckpointData Load(string path, bool keepQuantized)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path))
        {
            if (File.Exists(Path.Combine(path, HuggingFaceLoader.ConfigFileName))) return HuggingFaceLoader.Load(path, keepQuantized);
            throw new ModelFormatException(path, $"folder has no {HuggingFaceLoader.ConfigFileName}, so it is not a Hugging Face checkpoint.");
        }
        if (!File.Exists(path))
            throw new ModelFormatException(path, "no such file or folder.", new FileNotFoundException(null, path));

        string fileName = Path.GetFileName(path);
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        bool huggingFaceFile = fileName.Equals(HuggingFaceLoader.ConfigFileName, StringComparison.OrdinalIgnoreCase)
            || fileName.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)
            || fileName.EndsWith(".safetensors.index.json", StringComparison.OrdinalIgnoreCase);
        if (huggingFaceFile && folder is not null && File.Exists(Path.Combine(folder, HuggingFaceLoader.ConfigFileName)))
            return HuggingFaceLoader.Load(folder, keepQuantized);
        if (fileName.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            throw new ModelFormatException(path, $"a .safetensors file needs a {HuggingFaceLoader.ConfigFileName} beside it to describe the model.");
        if (fileName.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) || StartsWithGgufMagic(path))
            return GgufLoader.Load(path, keepQuantized);
        return Llama2cLoader.Load(path);
    }

    private static bool StartsWithGgufMagic(string path)
    {
        using SafeFileHandle handle = FileSlice.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        return RandomAccess.GetLength(handle) >= 4
            && RandomAccess.Read(handle, magic, 0) == 4
            && BinaryPrimitives.ReadUInt32LittleEndian(magic) == GgufReader.Magic;
    }
}
