using System.Text;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Tests.Loading;

public sealed class SafetensorsReaderTests
{
    private static readonly float[] Values = [.. TestData.Random(60, 11, scale: 100f), 0f, -0f, 65504f, 1e-7f, -3.14159f, float.Epsilon];

    [Fact]
    public void F32_RoundTripsExactly_AndMetadataIsExposed()
    {
        using var temp = new TempDirectory();
        string path = temp.File("a.safetensors");
        SafetensorsTestWriter.Write(path, [SafetensorsTestWriter.F32("w", [6, 11], Values)], new Dictionary<string, string> { ["format"] = "pt" });
        using SafetensorsFile file = SafetensorsReader.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.DoesNotContain("__metadata__", file.Tensors.Keys);
        HostTensor tensor = file.ReadTensor("w");
        Assert.Equal(new long[] { 6, 11 }, tensor.Shape);
        Assert.Equal(Values, tensor.Data);
    }

    [Fact]
    public void F16_RoundTripsWithinHalfPrecision()
    {
        using var temp = new TempDirectory();
        string path = temp.File("a.safetensors");
        SafetensorsTestWriter.Write(path, [SafetensorsTestWriter.F16("w", [66], Values)]);
        float[] read = SafetensorsReader.ReadAll(path)["w"].Data;
        for (int i = 0; i < Values.Length; i++)
        {
            // Half has an 11-bit significand: relative error ≤ 2^-11, plus the subnormal step 2^-24 near zero.
            float bound = (Math.Abs(Values[i]) * MathF.Pow(2, -11)) + MathF.Pow(2, -24);
            Assert.True(Math.Abs(read[i] - Values[i]) <= bound, $"[{i}] {Values[i]} -> {read[i]}");
        }
        Assert.Equal(65504f, read[62]);
    }

    [Fact]
    public void BF16_RoundTripsWithinBFloat16Precision()
    {
        using var temp = new TempDirectory();
        string path = temp.File("a.safetensors");
        SafetensorsTestWriter.Write(path, [SafetensorsTestWriter.BF16("w", [66], Values)]);
        float[] read = SafetensorsReader.ReadAll(path)["w"].Data;
        for (int i = 0; i < Values.Length; i++)
        {
            // Truncated to an 8-bit significand: relative error < 2^-7 (plus bfloat16's subnormal step), never larger in magnitude.
            float bound = (Math.Abs(Values[i]) * MathF.Pow(2, -7)) + MathF.Pow(2, -133);
            Assert.True(Math.Abs(read[i] - Values[i]) <= bound, $"[{i}] {Values[i]} -> {read[i]}");
            Assert.True(Math.Abs(read[i]) <= Math.Abs(Values[i]));
        }
    }

    [Fact]
    public void MissingFile_IsNamed()
    {
        using var temp = new TempDirectory();
        string path = temp.File("missing.safetensors");
        var ex = Assert.Throws<ModelFormatException>(() => SafetensorsReader.Open(path));
        Assert.Contains(path, ex.Message);
        Assert.IsType<FileNotFoundException>(ex.InnerException);
    }

    [Fact]
    public void EmptyFile_IsRejected()
    {
        var ex = AssertRejects([], "0 bytes");
        Assert.Contains("header length", ex.Message);
    }

    [Fact]
    public void TruncatedHeader_IsRejected()
    {
        byte[] valid = SafetensorsTestWriter.Build([SafetensorsTestWriter.F32("w", [2], [1f, 2f])]);
        AssertRejects(valid[..5], "too short");
        AssertRejects(valid[..20], "exceeds the file");
    }

    [Fact]
    public void HeaderLengthLargerThanFile_IsRejected()
    {
        byte[] bytes = SafetensorsTestWriter.Build([SafetensorsTestWriter.F32("w", [2], [1f, 2f])]);
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), 5_000_000UL);
        AssertRejects(bytes, "5000000 exceeds the file");
    }

    [Fact]
    public void HeaderLengthAboveLimit_IsRejectedWithoutAllocating()
    {
        byte[] bytes = SafetensorsTestWriter.Build([SafetensorsTestWriter.F32("w", [2], [1f, 2f])]);
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), ulong.MaxValue);
        AssertRejects(bytes, "limit");
    }

    [Fact]
    public void TensorOffsetOutsideFile_IsNamed()
    {
        byte[] bytes = SafetensorsTestWriter.Assemble("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"far":{"dtype":"F32","shape":[2],"data_offsets":[1000,1008]}}""", new byte[8]);
        var ex = AssertRejects(bytes, "outside the data section");
        Assert.Contains("'far'", ex.Message);
    }

    [Fact]
    public void ShapeByteSizeMismatch_IsNamed()
    {
        byte[] bytes = SafetensorsTestWriter.Assemble("""{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", new byte[8]);
        var ex = AssertRejects(bytes, "needs 12 bytes");
        Assert.Contains("'w'", ex.Message);
    }

    [Fact]
    public void OverlappingTensors_AreNamed()
    {
        byte[] bytes = SafetensorsTestWriter.Assemble("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", new byte[12]);
        var ex = AssertRejects(bytes, "overlap");
        Assert.Contains("'a'", ex.Message);
        Assert.Contains("'b'", ex.Message);
    }

    [Theory]
    [InlineData("""{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", "shape")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}""", "end before")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}""", "offset")]
    [InlineData("""{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}""", "overflows")]
    [InlineData("""{"w":{"shape":[2],"data_offsets":[0,8]}}""", "dtype")]
    [InlineData("""{"w":[1,2]}""", "not an object")]
    [InlineData("""[1,2]""", "not an object")]
    [InlineData("""{"w":{"dtype":"F32",""", "JSON")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", "twice")]
    public void MalformedHeaders_AreRejected(string header, string expected)
    {
        AssertRejects(SafetensorsTestWriter.Assemble(header, new byte[8]), expected);
    }

    [Fact]
    public void UnsupportedDtype_IsNamedWhenRead()
    {
        using var temp = new TempDirectory();
        string path = temp.File("a.safetensors");
        SafetensorsTestWriter.Write(path, [new SafetensorsTestWriter.Entry("ids", "I64", [2], new byte[16]), SafetensorsTestWriter.F32("w", [1], [1f])]);
        using SafetensorsFile file = SafetensorsReader.Open(path);
        Assert.Equal(1f, file.ReadFloat32("w")[0]);
        var ex = Assert.Throws<ModelFormatException>(() => file.ReadFloat32("ids"));
        Assert.Contains(path, ex.Message);
        Assert.Contains("'ids'", ex.Message);
        Assert.Contains("I64", ex.Message);
    }

    [Fact]
    public void UnknownDtypeWithHugeShape_IsRejectedBeforeAllocating()
    {
        using var temp = new TempDirectory();
        string path = temp.File("a.safetensors");
        // An unknown dtype has no size to check the shape against, so the shape must not size an allocation.
        File.WriteAllBytes(path, SafetensorsTestWriter.Assemble("""{"x":{"dtype":"Q4","shape":[1099511627776],"data_offsets":[0,8]}}""", new byte[8]));
        using SafetensorsFile file = SafetensorsReader.Open(path);
        var ex = Assert.Throws<ModelFormatException>(() => file.ReadFloat32("x"));
        Assert.Contains("'x'", ex.Message);
        Assert.Contains("Q4", ex.Message);
    }

    [Fact]
    public void MissingTensor_IsNamed()
    {
        using var temp = new TempDirectory();
        string path = temp.File("a.safetensors");
        SafetensorsTestWriter.Write(path, [SafetensorsTestWriter.F32("w", [1], [1f])]);
        using SafetensorsFile file = SafetensorsReader.Open(path);
        var ex = Assert.Throws<ModelFormatException>(() => file.ReadFloat32("nope"));
        Assert.Contains("'nope'", ex.Message);
    }

    private static ModelFormatException AssertRejects(byte[] bytes, string expectedFragment)
    {
        using var temp = new TempDirectory();
        string path = temp.File("bad.safetensors");
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<ModelFormatException>(() =>
        {
            using SafetensorsFile file = SafetensorsReader.Open(path);
        });
        Assert.Contains(path, ex.Message);
        Assert.Contains(expectedFragment, ex.Message);
        Assert.Equal(path, ex.FilePath);
        return ex;
    }
}
