using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Tests.Loading;
using TorchSharp;
using Xunit;

namespace QuickSilver.Engine.Tests.Kernels;

/// <summary>
/// F16/BF16 weights kept 16-bit: every path against the scalar decoder (float64 sum of decoded weights × float
/// activations), including subnormal halves, row counts that are not multiples of four and widths off the vector length;
/// and the model built from an F16 GGUF holds 16-bit weights (half the float32 bytes) with the float model's logits.
/// </summary>
public sealed class HalfPrecisionKernelTests
{
    public static TheoryData<KernelIsa, GgufTensorType> Paths()
    {
        var data = new TheoryData<KernelIsa, GgufTensorType>();
        foreach (var isa in Enum.GetValues<KernelIsa>().Where(KernelSettings.IsSupported))
            foreach (var type in new[] { GgufTensorType.F16, GgufTensorType.BF16 }) data.Add(isa, type);
        return data;
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void EveryPathMatchesTheDecodedReference(KernelIsa isa, GgufTensorType type)
    {
        var random = new Random(43);
        foreach (var (rows, columns, tokens) in new[] { (1, 8, 1), (7, 37, 2), (13, 64, 3), (4, 100, 1) })
        {
            var bits = new byte[rows * columns * 2];
            random.NextBytes(bits);
            for (int i = 0; i < bits.Length; i += 2) bits[i + 1] &= 0xBF; // exponent below the top: finite, subnormals included
            var weights = QuantizedMatrix.FromGgufBlocks(type, rows, columns, bits);
            float[] x = QuantizedKernelTests.RandomValues(random, tokens * columns, 1f);
            float[] decoded = weights.Dequantize();
            var output = new float[tokens * rows];
            KernelIsa saved = KernelSettings.Isa;
            try
            {
                KernelSettings.Isa = isa;
                QuantizedMatMul.MultiplyExact(weights, x, tokens, output, simd: isa != KernelIsa.Scalar, threads: 2);
            }
            finally
            {
                KernelSettings.Isa = saved;
            }
            for (int t = 0; t < tokens; t++)
                for (int r = 0; r < rows; r++)
                {
                    double expected = 0, magnitude = 0;
                    for (int c = 0; c < columns; c++)
                    {
                        expected += (double)decoded[(r * columns) + c] * x[(t * columns) + c];
                        magnitude += Math.Abs((double)decoded[(r * columns) + c] * x[(t * columns) + c]);
                    }
                    Assert.True(Math.Abs(output[(t * rows) + r] - expected) <= (1e-5 * magnitude) + 1e-30,
                        $"{isa} {type} [{rows}x{columns}] token {t} row {r}: {output[(t * rows) + r]} vs {expected}");
                }
        }
    }

    [Theory]
    [InlineData(GgufTensorType.F16)]
    [InlineData(GgufTensorType.BF16)]
    public void A16BitGgufStays16BitWithTheFloatModelsLogits(GgufTensorType type)
    {
        using var temp = new TempDirectory();
        string path = temp.File("tiny.gguf");
        TinyLlama.Create().GgufWriter(type).Write(path);
        using var packed = TransformerModel.Create(GgufLoader.Load(path, keepQuantized: true), torch.CPU, null);
        using var widened = TransformerModel.Create(GgufLoader.Load(path, keepQuantized: true), torch.CPU, null, keepHalfPrecision: false);
        using var dense = TransformerModel.Create(GgufLoader.Load(path), torch.CPU);
        Assert.All(packed.Matrices, m => Assert.Equal(type.ToString(), m.Format));
        Assert.All(widened.Matrices, m => Assert.IsType<DenseLinearWeight>(m));
        Assert.Equal(dense.Matrices.Sum(m => m.StorageBytes), 2 * packed.Matrices.Sum(m => m.StorageBytes));
        foreach (var (p, d) in packed.Matrices.Zip(dense.Matrices))
        {
            using var x = torch.randn(3, d.InFeatures);
            using var expected = d.Apply(x);
            using var actual = p.Apply(x);
            Assert.True(TestModels.MaxAbsDiff(TestModels.ToArray(expected), TestModels.ToArray(actual)) < 1e-4f);
        }
        using var quantized = TransformerModel.Create(GgufLoader.Load(path, keepQuantized: true), torch.CPU, GgufTensorType.Q8_0);
        Assert.All(quantized.Matrices, m => Assert.Equal("Q8_0", m.Format));
    }

    [Fact]
    public void A16BitHuggingFaceCheckpointStays16Bit()
    {
        using var temp = new TempDirectory();
        string folder = TinyLlama.Create().WriteHfFolder(temp.File("hf"));
        string file = Path.Combine(folder, "model.safetensors");
        var entries = SafetensorsTestWriter.CopyEntries(file)
            .Select(e => e.Shape.Length == 2 ? SafetensorsTestWriter.F16(e.Name, e.Shape, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(e.Data).ToArray()) : e)
            .ToList();
        SafetensorsTestWriter.Write(file, entries);
        CheckpointData kept = HuggingFaceLoader.Load(folder, keepHalfPrecision: true);
        CheckpointData widened = HuggingFaceLoader.Load(folder);
        Assert.Equal(GgufTensorType.F16, kept.Tensors[WeightNames.Query(0)].Packed!.Type);
        Assert.Equal(GgufTensorType.F16, kept.Tensors[WeightNames.Embedding].Packed!.Type);
        Assert.Null(widened.Tensors[WeightNames.Query(0)].Packed);
        TestData.AssertSameTensors(widened.Tensors, kept.Tensors);
    }
}
