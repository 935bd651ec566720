using Xunit.Abstractions;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Runtime;
using QuickSilver.Engine.Tests.Loading;
using QuickSilver.Testing.LlamaCpp;

namespace QuickSilver.Engine.Tests.Oracle;

/// <summary>The llama.cpp oracle itself works in this process, beside TorchSharp, and agrees with what we know.</summary>
public sealed class LlamaCppOracleTests(ITestOutputHelper output)
{
    [Fact]
    public void Block_layouts_agree_with_ggml_for_every_type_the_reader_knows()
    {
        foreach (GgufTensorType type in Enum.GetValues<GgufTensorType>())
        {
            if (!GgufReader.TryGetBlockLayout(type, out int values, out int bytes)) continue;
            Assert.True(values == GgmlReference.BlockSize(type), $"{type}: block values {values} vs ggml {GgmlReference.BlockSize(type)}");
            Assert.True(bytes == GgmlReference.TypeSize(type), $"{type}: block bytes {bytes} vs ggml {GgmlReference.TypeSize(type)}");
        }
        Assert.Contains("libggml-base", GgmlReference.LibraryPath, StringComparison.Ordinal);
        output.WriteLine($"ggml base library: {GgmlReference.LibraryPath}");
    }

    [Fact]
    public void Ggml_quantizes_and_decodes_Q8_0_as_our_decoder_reads_it()
    {
        float[] values = TestData.Random(32 * 8, seed: 3);
        byte[] bytes = GgmlReference.Quantize(GgufTensorType.Q8_0, values, rowLength: 64);
        Assert.Equal(8 * 34, bytes.Length);
        float[] theirs = GgmlReference.Dequantize(GgufTensorType.Q8_0, bytes);
        var ours = new float[values.Length];
        GgmlQuantization.DequantizeQ8_0(bytes, ours);
        Assert.Equal(theirs, ours);
        Assert.Equal(GgmlReference.QuantizeReference(GgufTensorType.Q8_0, values), bytes);
    }

    [Fact]
    public void Logits_at_every_position_match_ours_on_an_F32_file_in_the_same_process_as_TorchSharp()
    {
        using var temp = new TempDirectory();
        TinyLlama m = TinyLlama.Create();
        string path = temp.File("tiny.gguf");
        m.GgufWriter().Write(path);
        int[] tokens = [1, 5, 9, 30, 2, 17, 4, 11, 23, 8];

        using LanguageModel model = LanguageModel.Load(path);
        using ForwardOutput forward = model.Runner.Run(new ForwardInput { TokenIds = tokens, AllLogits = true });
        float[] ours = TestModels.ToArray(forward.Logits);
        float[][] theirs = LlamaCppModel.LogitsAtEveryPosition(path, tokens);

        Assert.Equal(tokens.Length, theirs.Length);
        float max = 0;
        for (int t = 0; t < tokens.Length; t++)
        {
            Assert.Equal(m.Vocab, theirs[t].Length);
            for (int v = 0; v < m.Vocab; v++) max = Math.Max(max, Math.Abs(theirs[t][v] - ours[(t * m.Vocab) + v]));
        }
        output.WriteLine($"F32 tiny Llama, {tokens.Length} positions: max |Δlogit| ours vs llama.cpp = {max:G3}");
        Assert.True(max < 2e-3f, $"max |Δlogit| {max}");
    }

    [Fact]
    public void Pure_quantization_writes_every_matrix_in_the_one_type()
    {
        using var temp = new TempDirectory();
        string source = temp.File("f32.gguf"), target = temp.File("q8.gguf");
        TinyLlama.Create().GgufWriter().Write(source);
        LlamaCppQuantizer.QuantizePure(source, target, GgufTensorType.Q8_0);
        foreach ((string name, GgufTensorType type) in LlamaCppQuantizer.TensorTypes(target))
            Assert.True(type == (name.Contains("norm", StringComparison.Ordinal) ? GgufTensorType.F32 : GgufTensorType.Q8_0), $"{name}: {type}");
    }

    [Fact]
    public void Quantizer_failure_names_the_file()
    {
        using var temp = new TempDirectory();
        string bogus = temp.File("bogus.gguf");
        File.WriteAllText(bogus, "not a gguf");
        var error = Assert.Throws<InvalidOperationException>(() => LlamaCppQuantizer.QuantizeMix(bogus, temp.File("out.gguf"), LLama.Native.LLamaFtype.MOSTLY_Q8_0));
        Assert.Contains("bogus.gguf", error.Message, StringComparison.Ordinal);
    }
}
