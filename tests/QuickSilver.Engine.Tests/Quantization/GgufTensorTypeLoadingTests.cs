using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Quantization;
using QuickSilver.Engine.Tests.Loading;
using QuickSilver.Testing.LlamaCpp;

namespace QuickSilver.Engine.Tests.Quantization;

/// <summary>The GGUF reader decodes every supported type as llama.cpp does and refuses the others by tensor, type and file.</summary>
public sealed class GgufTensorTypeLoadingTests
{
    public static TheoryData<GgufTensorType> SupportedTypes() => [.. BlockFormats.SupportedTypes];

    public static TheoryData<GgufTensorType> RefusedTypes() =>
    [
        GgufTensorType.Q8_1, GgufTensorType.Q8_K, GgufTensorType.IQ2_XXS, GgufTensorType.IQ2_XS, GgufTensorType.IQ3_XXS,
        GgufTensorType.IQ1_S, GgufTensorType.IQ3_S, GgufTensorType.IQ2_S, GgufTensorType.IQ1_M, GgufTensorType.I8,
        GgufTensorType.I16, GgufTensorType.I32, GgufTensorType.I64, GgufTensorType.F64,
    ];

    [Theory]
    [MemberData(nameof(SupportedTypes))]
    public void A_tensor_of_each_supported_type_reads_as_llama_cpp_decodes_it(GgufTensorType type)
    {
        using var temp = new TempDirectory();
        const int Rows = 3, Columns = 512;
        float[] values = TestData.Random(Rows * Columns, seed: (int)type + 1, scale: 0.5f);
        byte[] encoded = type == GgufTensorType.F32
            ? [.. values.SelectMany(BitConverter.GetBytes)]
            : GgmlReference.Quantize(type, values, Columns);
        string path = temp.File("one.gguf");
        new GgufWriter().AddMetadata("general.architecture", "llama").AddEncodedTensor("w", [Rows, Columns], type, encoded).Write(path);

        GgufFile file = GgufFile.Read(path);
        float[] ours = file.ReadTensorData(file.Tensors.Single());
        float[] theirs = type == GgufTensorType.F32 ? values : GgmlReference.Dequantize(type, encoded);
        Assert.Equal(theirs, ours);
    }

    [Theory]
    [MemberData(nameof(RefusedTypes))]
    public void A_model_with_a_tensor_of_another_type_is_refused_naming_tensor_type_and_file(GgufTensorType type)
    {
        using var temp = new TempDirectory();
        var m = TinyLlama.Create();
        GgufReader.TryGetBlockLayout(type, out int blockValues, out int blockBytes);
        // output.weight is [Vocab, Dim] = [32, 32]: written as [4, 256] would not fit the model, so the type check must come first.
        var bytes = new byte[32 * 32 / blockValues * blockBytes];
        new Random(1).NextBytes(bytes);
        long[] shape = blockValues <= 32 ? [m.Vocab, m.Dim] : [32 * 32 / blockValues, blockValues];
        string path = temp.File("mixed.gguf");
        m.GgufWriter(withOutput: false).AddEncodedTensor("output.weight", shape, type, bytes).Write(path);

        var error = Assert.Throws<ModelFormatException>(() => LanguageModel.Load(path).Dispose());
        Assert.Contains("'output.weight'", error.Message, StringComparison.Ordinal);
        Assert.Contains(type.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_type_code_is_refused_by_number()
    {
        using var temp = new TempDirectory();
        string path = temp.File("unknown.gguf");
        new GgufWriter().AddMetadata("general.architecture", "llama").AddEncodedTensor("w", [32], GgufTensorType.I8, new byte[32]).Write(path);
        GgufFile file = GgufFile.Read(path);
        GgufTensorInfo info = file.Tensors.Single() with { Type = (GgufTensorType)99 };
        var error = Assert.Throws<ModelFormatException>(() => file.ReadTensorData(info));
        Assert.Contains("unknown ggml type 99", error.Message, StringComparison.Ordinal);
        Assert.Contains("'w'", error.Message, StringComparison.Ordinal);
    }
}
