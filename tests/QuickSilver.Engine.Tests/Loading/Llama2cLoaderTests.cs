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

    [Theory]
    [InlineData(3, "version 3")]
    [InlineData(0, "version 0")]
    public void UnknownExportVersions_AreNamed(int version, string fragment)
    {
        using var temp = new TempDirectory();
        byte[] bytes = new byte[256];
        BitConverter.TryWriteBytes(bytes.AsSpan(0), Llama2cLoader.ExportMagic);
        BitConverter.TryWriteBytes(bytes.AsSpan(4), version);
        AssertRejected(temp, bytes, fragment, "ak42");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ExportVersion1_LoadsTheSameTensorsAsTheLegacyLayout(bool separateClassifier)
    {
        using var temp = new TempDirectory();
        TinyLlama m = TinyLlama.Create();
        File.WriteAllBytes(temp.File("v0.bin"), m.Llama2cBytes(separateClassifier));
        File.WriteAllBytes(temp.File("v1.bin"), m.Llama2cExportBytes(1, separateClassifier));
        CheckpointData v0 = Llama2cLoader.Load(temp.File("v0.bin"));
        CheckpointData v1 = Llama2cLoader.Load(temp.File("v1.bin"));
        Assert.Equal(v0.Config, v1.Config);
        Assert.Equal("1", v1.Metadata["llama2c.version"]);
        TestData.AssertSameTensors(v0.Tensors, v1.Tensors);
    }

    [Fact]
    public void ExportVersion2_DequantizesGroupsOfInt8()
    {
        using var temp = new TempDirectory();
        TinyLlama m = TinyLlama.Create();
        File.WriteAllBytes(temp.File("v2.bin"), m.Llama2cExportBytes(2, separateClassifier: true, groupSize: 16));
        CheckpointData v2 = Llama2cLoader.Load(temp.File("v2.bin"));
        Assert.False(v2.Config.TiedEmbeddings);
        Assert.Equal(m.AttnNorm[1], v2.Tensors[WeightNames.AttnNormWeight(1)].Data);
        Assert.Equal(TinyLlama.DequantizeGroups(m.Embedding, 16), v2.Tensors[WeightNames.Embedding].Data);
        Assert.Equal(TinyLlama.DequantizeGroups(m.Classifier, 16), v2.Tensors[WeightNames.LmHead].Data);
        Assert.Equal(TinyLlama.DequantizeGroups(m.W2[1], 16), v2.Tensors[WeightNames.Down(1)].Data);
        Assert.Equal(TinyLlama.ToRotateHalf(TinyLlama.DequantizeGroups(m.Wk[0], 16), m.KvHeads, m.HeadDim, m.Dim), v2.Tensors[WeightNames.Key(0)].Data);
        Assert.NotEqual(m.Wv[0], v2.Tensors[WeightNames.Value(0)].Data);
    }

    [Fact]
    public void ExportVersion2_BadGroupSizes_AreNamed()
    {
        using var temp = new TempDirectory();
        byte[] bytes = TinyLlama.Create().Llama2cExportBytes(2, groupSize: 16);
        AssertRejected(temp, WithGroupSize(bytes, 0), "group_size");
        AssertRejected(temp, WithGroupSize(bytes, 48), "group_size 48");
        AssertRejected(temp, WithGroupSize(bytes, 32), "implies");

        static byte[] WithGroupSize(byte[] bytes, int groupSize)
        {
            byte[] copy = (byte[])bytes.Clone();
            BitConverter.TryWriteBytes(copy.AsSpan(37), groupSize);
            return copy;
        }
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
