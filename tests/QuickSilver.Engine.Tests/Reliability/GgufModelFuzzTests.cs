using System.Buffers.Binary;
using CsCheck;
using QuickSilver.Engine.Loading;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Reliability;

/// <summary>
/// The whole load path of a real GGUF model (header, metadata with its tokenizer arrays, tensor table, weights, tokenizer): corrupting
/// stories260K.gguf anywhere in its metadata must give a loaded model or <see cref="ModelFormatException"/>/<see cref="QuickSilver.Engine.Tokenization.TokenizerException"/>.
/// </summary>
public sealed class GgufModelFuzzTests : IDisposable
{
    public const int Cases = 120;

    private readonly string _dir = Directory.CreateTempSubdirectory("qs-gguf-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void CorruptedStories260KGguf_LoadsOrThrowsOurExceptions()
    {
        byte[] valid = File.ReadAllBytes(SharedAssets.Stories260KGguf);
        int metadataEnd = (int)GgufFile.Read(SharedAssets.Stories260KGguf).DataOffset;
        string path = Path.Combine(_dir, "fuzz.gguf");
        int loaded = 0, rejected = 0;
        Gen.Select(Gen.Int[0, 3], Gen.Int[8, metadataEnd - 1], Gen.ULong).Array[1, 3].Sample(edits =>
        {
            byte[] bytes = (byte[])valid.Clone();
            int length = bytes.Length;
            foreach ((int kind, int at, ulong value) in edits)
            {
                switch (kind)
                {
                    case 0: bytes[at] = (byte)value; break;
                    case 1: length = Math.Min(length, at); break;                                               // truncate
                    case 2: if (at + 8 <= length) BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), value % 3 == 0 ? value : value % 100_000); break; // lengths/counts
                    default: if (at + 4 <= length) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), (uint)(value % 13)); break; // value types
                }
            }
            File.WriteAllBytes(path, bytes[..length]);
            try
            {
                using LanguageModel model = LanguageModel.Load(path);
                Assert.NotEmpty(model.Tokenizer.Encode("Once upon a time", addBos: true));
                loaded++;
            }
            catch (QuickSilverException ex) when (ex is ModelFormatException or QuickSilver.Engine.Tokenization.TokenizerException)
            {
                rejected++;
            }
        }, iter: Cases, threads: 1);
        Assert.True(rejected > 0);
    }
}
