using QuickSilver.Engine.Loading;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Loading;

public sealed class Llama2cLoaderTests
{
    private static ModelFormatException AssertRejected(TempDirectory temp, byte[] bytes, params string[] fragments)
    {
        string path = temp.File($"bad-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<ModelFormatException>(() => Llama2cLoader.Load(path));
        Assert.Contains(path, ex.Message);
        foreach (string fragment in fragments) Assert.True(ex.Message.Contains(fragment, StringComparison.Ordinal), $"'{fragment}' not in: {ex.Message}");
        return ex;
    }

    private static byte[] WithField(byte[] bytes, int index, int value)
    {
        byte[] copy = (byte[])bytes.Clone();
        BitConverter.TryWriteBytes(copy.AsSpan(4 * index), value);
        return copy;
    }

    [Fact]
    public void MissingAndEmptyFiles_AreNamed()
    {
        using var temp = new TempDirectory();
        string missing = temp.File("missing.bin");
        var ex = Assert.Throws<ModelFormatException>(() => Llama2cLoader.Load(missing));
        Assert.Contains(missing, ex.Message);
        Assert.IsType<FileNotFoundException>(ex.InnerException);
        AssertRejected(temp, [], "0 bytes", "28-byte");
    }

    [Fact]
    public void TruncatedStories260K_NamesExpectedAndActualSize()
    {
        using var temp = new TempDirectory();
        byte[] bytes = File.ReadAllBytes(SharedAssets.Stories260KBin);
        AssertRejected(temp, bytes[..^4], "1056536 bytes", "implies 1056540 bytes", "truncated");
        AssertRejected(temp, bytes[..100], "100 bytes", "implies 1056540 bytes");
        AssertRejected(temp, [.. bytes, 0, 0, 0, 0], "1056544 bytes", "trailing data");
    }

    [Theory]
    [InlineData(0, 0, "dim")]
    [InlineData(0, -64, "dim")]
    [InlineData(1, 0, "hidden_dim")]
    [InlineData(2, -1, "n_layers")]
    [InlineData(3, 0, "n_heads")]
    [InlineData(4, -4, "n_kv_heads")]
    [InlineData(6, 0, "seq_len")]
    [InlineData(5, 0, "vocab_size")]
    [InlineData(5, int.MinValue, "vocab_size")]
    [InlineData(3, 7, "n_heads")]
    [InlineData(4, 3, "n_kv_heads")]
    [InlineData(4, 16, "n_kv_heads")]
    public void InvalidHeaderFields_AreNamed(int index, int value, string field)
    {
        using var temp = new TempDirectory();
        byte[] bytes = TinyLlama.Create().Llama2cBytes();
        AssertRejected(temp, WithField(bytes, index, value), field);
    }

    [Fact]
    public void HugeHeaderFields_AreRejectedBySizeWithoutAllocating()
    {
        using var temp = new TempDirectory();
        byte[] bytes = TinyLlama.Create().Llama2cBytes();
        // layers·dim·dim = 2^31·2^54 overflows 64 bits if computed naively.
        byte[] huge = WithField(WithField(WithField(WithField(bytes, 0, 1 << 27), 2, int.MaxValue), 3, 1 << 26), 4, 1 << 26);
        AssertRejected(temp, huge, "implies");
    }

    [Fact]
    public void NewerExportFormat_IsRecognisedAndRejected()
    {
        using var temp = new TempDirectory();
        byte[] bytes = new byte[256];
        BitConverter.TryWriteBytes(bytes.AsSpan(0), 0x616B3432u);
        BitConverter.TryWriteBytes(bytes.AsSpan(4), 1);
        AssertRejected(temp, bytes, "version 1", "ak42");
    }

    [Fact]
    public void NegativeVocab_ReadsTheSeparateClassifier()
    {
        using var temp = new TempDirectory();
        TinyLlama m = TinyLlama.Create();
        string path = temp.File("m.bin");
        File.WriteAllBytes(path, m.Llama2cBytes(separateClassifier: true));
        CheckpointData data = Llama2cLoader.Load(path);
        Assert.False(data.Config.TiedEmbeddings);
        Assert.Equal(m.Classifier, data.Tensors[WeightNames.LmHead].Data);
        Assert.Equal(m.Vocab, data.Config.VocabSize);
        // Without the classifier bytes the same header is a truncated file.
        AssertRejected(temp, m.Llama2cBytes(separateClassifier: true)[..^(m.Vocab * m.Dim * 4)], "truncated");
    }
}
