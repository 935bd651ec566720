using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Loading;
using Xunit;

namespace QuickSilver.Engine.Tests.Kernels;

/// <summary>
/// Every SIMD path of the quantized matrix kernels against the scalar reference: decoded weights (the ggml block decoders)
/// times decoded 8-bit activations, summed in float64. Shapes include odd block counts (the 512-bit paths' tail) and
/// row counts that do not divide among threads.
/// </summary>
public sealed class QuantizedKernelTests
{
    public static TheoryData<KernelIsa, GgufTensorType> Paths()
    {
        var data = new TheoryData<KernelIsa, GgufTensorType>();
        foreach (var isa in Enum.GetValues<KernelIsa>().Where(KernelSettings.IsSupported))
            foreach (var type in new[] { GgufTensorType.Q8_0, GgufTensorType.Q4_0 }) data.Add(isa, type);
        return data;
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void EveryPathMatchesTheDecodedReference(KernelIsa isa, GgufTensorType type)
    {
        var random = new Random(7);
        foreach (var (rows, columns, tokens) in new[] { (1, 32, 1), (37, 96, 1), (5, 160, 3), (64, 256, 2), (130, 64, 4) })
        {
            var weights = QuantizedMatrix.Quantize(type, rows, columns, RandomValues(random, rows * columns, 0.5f));
            float[] x = RandomValues(random, tokens * columns, 2f);
            var activations = new Q8Activations();
            activations.Quantize(x, tokens, columns);
            var output = new float[tokens * rows];
            QuantizedMatMul.Multiply(weights, activations, output, isa, threads: 2);

            float[] decoded = weights.Dequantize();
            for (int t = 0; t < tokens; t++)
            {
                float[] a = activations.Dequantize(t);
                for (int r = 0; r < rows; r++)
                {
                    double expected = 0, magnitude = 0;
                    for (int c = 0; c < columns; c++)
                    {
                        expected += (double)decoded[(r * columns) + c] * a[c];
                        magnitude += Math.Abs((double)decoded[(r * columns) + c] * a[c]);
                    }
                    Assert.True(Math.Abs(output[(t * rows) + r] - expected) <= 1e-5 * magnitude + 1e-6,
                        $"{isa} {type} [{rows}x{columns}] token {t} row {r}: {output[(t * rows) + r]} vs {expected}");
                }
            }
        }
    }

    [Theory]
    [InlineData(GgufTensorType.Q8_0)]
    [InlineData(GgufTensorType.Q4_0)]
    public void ExactPathMatchesAFloatProductOnTheDecodedWeights(GgufTensorType type)
    {
        var random = new Random(3);
        const int Rows = 19, Columns = 96, Tokens = 3;
        var weights = QuantizedMatrix.Quantize(type, Rows, Columns, RandomValues(random, Rows * Columns, 1f));
        float[] x = RandomValues(random, Tokens * Columns, 1f);
        float[] decoded = weights.Dequantize();
        foreach (bool simd in new[] { false, true })
        {
            var output = new float[Tokens * Rows];
            QuantizedMatMul.MultiplyExact(weights, x, Tokens, output, simd, threads: 2);
            for (int t = 0; t < Tokens; t++)
                for (int r = 0; r < Rows; r++)
                {
                    double expected = 0, magnitude = 0;
                    for (int c = 0; c < Columns; c++)
                    {
                        expected += (double)decoded[(r * Columns) + c] * x[(t * Columns) + c];
                        magnitude += Math.Abs((double)decoded[(r * Columns) + c] * x[(t * Columns) + c]);
                    }
                    Assert.True(Math.Abs(output[(t * Rows) + r] - expected) <= 1e-5 * magnitude, $"simd={simd} token {t} row {r}");
                }
        }
    }

    [Fact]
    public void ThreadCountDoesNotChangeTheResult()
    {
        var random = new Random(11);
        var weights = QuantizedMatrix.Quantize(GgufTensorType.Q4_0, 301, 512, RandomValues(random, 301 * 512, 1f));
        var activations = new Q8Activations();
        activations.Quantize(RandomValues(random, 2 * 512, 1f), 2, 512);
        var one = new float[602];
        var two = new float[602];
        QuantizedMatMul.Multiply(weights, activations, one, KernelSettings.Best, threads: 1);
        QuantizedMatMul.Multiply(weights, activations, two, KernelSettings.Best, threads: 2);
        Assert.Equal(one, two);
    }

    [Fact]
    public void VectorActivationQuantizationMatchesTheScalarDefinition()
    {
        var random = new Random(5);
        float[] x = RandomValues(random, 4 * 64, 3f);
        x[5] = 0; x[40] = 127.5f / 127f; // a tie after scaling is rounded to even on both paths
        Array.Clear(x, 64, 32); // an all-zero block has scale 0
        var activations = new Q8Activations();
        activations.Quantize(x, 4, 64);
        var codes = new sbyte[32];
        for (int b = 0; b < 8; b++)
        {
            Q8Activations.QuantizeBlockScalar(x.AsSpan(b * 32, 32), codes, out float scale);
            Assert.Equal(scale, activations.Scales[b]);
            Assert.Equal(codes, activations.Codes.AsSpan(b * 32, 32).ToArray());
        }
    }

    [Fact]
    public void RejectsMismatchedWidthsAndBadShapes()
    {
        var weights = QuantizedMatrix.Quantize(GgufTensorType.Q8_0, 2, 64, new float[128]);
        var activations = new Q8Activations();
        activations.Quantize(new float[32], 1, 32);
        Assert.Throws<ArgumentException>(() => QuantizedMatMul.Multiply(weights, activations, new float[2], KernelIsa.Scalar, 1));
        Assert.Throws<ArgumentException>(() => activations.Quantize(new float[33], 1, 33));
        Assert.Throws<ArgumentException>(() => QuantizedMatrix.FromGgufBlocks(GgufTensorType.Q8_0, 2, 64, new byte[10]));
        Assert.Throws<NotSupportedException>(() => QuantizedMatrix.BlockBytes(GgufTensorType.F32));
    }

    internal static float[] RandomValues(Random random, int count, float scale) =>
        Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2) - 1) * scale).ToArray();
}
