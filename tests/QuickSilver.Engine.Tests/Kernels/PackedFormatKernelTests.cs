using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Quantization;
using Xunit;

namespace QuickSilver.Engine.Tests.Kernels;

/// <summary>
/// The kernels of the formats kept in GGUF layout (Q4_1, Q5_0, Q5_1, IQ4_NL against 32-value activations; Q2_K … Q6_K and
/// IQ4_XS against Q8_K activations), every SIMD path, against the scalar block decoders on random blocks: decoded weights
/// times decoded 8-bit activations summed in float64. Shapes include odd block counts and row counts that do not divide
/// among threads or row tiles, and token counts that exercise the four-row prefill path and its tail.
/// </summary>
public sealed class PackedFormatKernelTests
{
    private static readonly GgufTensorType[] Formats =
    [
        GgufTensorType.Q4_K, GgufTensorType.Q6_K, GgufTensorType.Q5_K, GgufTensorType.Q3_K, GgufTensorType.Q2_K, GgufTensorType.IQ4_XS,
        GgufTensorType.IQ4_NL, GgufTensorType.Q4_1, GgufTensorType.Q5_0, GgufTensorType.Q5_1,
    ];

    public static TheoryData<KernelIsa, GgufTensorType> Paths()
    {
        var data = new TheoryData<KernelIsa, GgufTensorType>();
        foreach (var isa in Enum.GetValues<KernelIsa>().Where(KernelSettings.IsSupported))
            foreach (var type in Formats) data.Add(isa, type);
        return data;
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void EveryPathMatchesTheDecodedReference(KernelIsa isa, GgufTensorType type)
    {
        var random = new Random(17 + (int)type);
        int values = BlockFormats.Get(type).BlockValues;
        foreach (var (rows, blocks, tokens) in new[] { (1, 1, 1), (37, 3, 1), (5, 5, 3), (18, 2, 2), (19, 2, 9), (3, 2, 35) })
        {
            int columns = blocks * values;
            var weights = RandomMatrix(random, type, rows, columns);
            float[] x = QuantizedKernelTests.RandomValues(random, tokens * columns, 2f);
            var output = new float[tokens * rows];
            Func<int, float[]> dequantized = Multiply(weights, x, tokens, output, isa, threads: 2);
            float[] decoded = weights.Dequantize();
            for (int t = 0; t < tokens; t++)
            {
                float[] a = dequantized(t);
                for (int r = 0; r < rows; r++)
                {
                    double expected = 0, magnitude = 0;
                    for (int c = 0; c < columns; c++)
                    {
                        expected += (double)decoded[(r * columns) + c] * a[c];
                        magnitude += Math.Abs((double)decoded[(r * columns) + c] * a[c]);
                    }
                    Assert.True(Math.Abs(output[(t * rows) + r] - expected) <= (2e-5 * magnitude) + 1e-6,
                        $"{isa} {type} [{rows}x{columns}] token {t} row {r}: {output[(t * rows) + r]} vs {expected}");
                }
            }
        }
    }

    [Theory]
    [InlineData(GgufTensorType.Q4_K)]
    [InlineData(GgufTensorType.Q6_K)]
    [InlineData(GgufTensorType.IQ4_NL)]
    public void EightBitActivationsStayWithinTheirRoundingBound(GgufTensorType type)
    {
        // Against the float64 product with unrounded activations: each activation moves by at most half its block's step,
        // so |error| ≤ Σ |w|·s/2 (plus float32 accumulation).
        var random = new Random(23);
        int values = BlockFormats.Get(type).BlockValues, columns = 2 * Math.Max(values, 256), rows = 9;
        var weights = RandomMatrix(random, type, rows, columns);
        float[] x = QuantizedKernelTests.RandomValues(random, columns, 1f);
        var output = new float[rows];
        Multiply(weights, x, 1, output, KernelSettings.Best, threads: 1);
        float[] decoded = weights.Dequantize();
        for (int r = 0; r < rows; r++)
        {
            double exact = 0, bound = 0, magnitude = 0;
            for (int c = 0; c < columns; c++)
            {
                int start = c / values * values;
                double step = x.Skip(start).Take(values).Max(Math.Abs) / 127.0;
                double w = decoded[(r * columns) + c];
                exact += w * x[c];
                bound += Math.Abs(w) * step / 2;
                magnitude += Math.Abs(w * x[c]);
            }
            Assert.True(Math.Abs(output[r] - exact) <= bound + (1e-5 * magnitude), $"{type} row {r}: {output[r]} vs {exact} (bound {bound})");
            Assert.True(Math.Abs(output[r] - exact) > 0 || bound == 0, "the rounding must show");
        }
    }

    [Theory]
    [InlineData(GgufTensorType.Q4_K)]
    [InlineData(GgufTensorType.Q5_1)]
    public void ExactPathMatchesAFloatProductOnTheDecodedWeights(GgufTensorType type)
    {
        var random = new Random(29);
        int columns = 512, rows = 7, tokens = 2;
        var weights = RandomMatrix(random, type, rows, columns);
        float[] x = QuantizedKernelTests.RandomValues(random, tokens * columns, 1f);
        float[] decoded = weights.Dequantize();
        var output = new float[tokens * rows];
        QuantizedMatMul.MultiplyExact(weights, x, tokens, output, simd: true, threads: 2);
        for (int t = 0; t < tokens; t++)
            for (int r = 0; r < rows; r++)
            {
                double expected = 0, magnitude = 0;
                for (int c = 0; c < columns; c++)
                {
                    expected += (double)decoded[(r * columns) + c] * x[(t * columns) + c];
                    magnitude += Math.Abs((double)decoded[(r * columns) + c] * x[(t * columns) + c]);
                }
                Assert.True(Math.Abs(output[(t * rows) + r] - expected) <= 1e-5 * magnitude, $"{type} token {t} row {r}");
            }
    }

    [Fact]
    public void Q8KVectorQuantizationMatchesTheScalarDefinition()
    {
        var random = new Random(31);
        float[] x = QuantizedKernelTests.RandomValues(random, 3 * 256, 3f);
        x[7] = 0; x[40] = 127.5f / 127f * 3f;
        Array.Clear(x, 256, 256); // an all-zero block has scale 0
        var activations = new Q8KActivations();
        activations.Quantize(x, 1, 768);
        var codes = new sbyte[256];
        var sums = new short[16];
        for (int b = 0; b < 3; b++)
        {
            Q8KActivations.QuantizeBlockScalar(x.AsSpan(b * 256, 256), codes, sums, out float scale);
            Assert.Equal(scale, activations.Scales[b]);
            Assert.Equal(codes, activations.Codes.AsSpan(b * 256, 256).ToArray());
            Assert.Equal(sums, activations.Sums.AsSpan(b * 16, 16).ToArray());
        }
    }

    [Fact]
    public void BlocksStayByteForByteAndRowOperationsKeepThem()
    {
        var random = new Random(37);
        var matrix = RandomMatrix(random, GgufTensorType.Q6_K, 6, 512);
        byte[] blocks = matrix.ToGgufBlocks();
        Assert.Equal(6 * 2 * BlockQ6_K.Bytes, blocks.Length);
        Assert.Equal(blocks.Length, matrix.ByteSize);
        float[] decoded = new float[6 * 512];
        BlockQ6_K.Decode(blocks, decoded);
        Assert.Equal(decoded, matrix.Dequantize());
        var row = new float[512];
        matrix.DequantizeRow(4, row);
        Assert.Equal(decoded.AsSpan(4 * 512, 512).ToArray(), row);
        var slice = matrix.SliceRows(2, 3).PermuteRows([2, 0, 1]);
        Assert.Equal(decoded.AsSpan(4 * 512, 512).ToArray().Concat(decoded.AsSpan(2 * 512, 1024).ToArray()).ToArray(), slice.Dequantize());
        Assert.Equal(decoded, QuantizedMatrix.ConcatRows([matrix.SliceRows(0, 1), matrix.SliceRows(1, 5)]).Dequantize());
    }

    [Fact]
    public void RejectsTheWrongActivationFormAndBadShapes()
    {
        var random = new Random(41);
        var kquant = RandomMatrix(random, GgufTensorType.Q4_K, 2, 256);
        var legacy = RandomMatrix(random, GgufTensorType.Q5_0, 2, 256);
        var blocks32 = new Q8Activations();
        blocks32.Quantize(new float[256], 1, 256);
        var blocks256 = new Q8KActivations();
        blocks256.Quantize(new float[256], 1, 256);
        Assert.Throws<ArgumentException>(() => QuantizedMatMul.Multiply(kquant, blocks32, new float[2], KernelIsa.Scalar, 1));
        Assert.Throws<ArgumentException>(() => QuantizedMatMul.Multiply(legacy, blocks256, new float[2], KernelIsa.Scalar, 1, 2, 0));
        Assert.Throws<ArgumentException>(() => blocks256.Quantize(new float[128], 1, 128));
        Assert.Throws<ArgumentException>(() => QuantizedMatrix.FromGgufBlocks(GgufTensorType.Q4_K, 1, 128, new byte[72]));
        Assert.Throws<ArgumentException>(() => QuantizedMatrix.Quantize(GgufTensorType.Q4_K, 1, 256, new float[256]));
    }

    /// <summary>Multiplies with the activation form the format takes; returns the decoded activations of a row.</summary>
    private static Func<int, float[]> Multiply(QuantizedMatrix weights, float[] x, int tokens, float[] output, KernelIsa isa, int threads)
    {
        if (BlockFormats.Get(weights.Type).BlockValues == 256)
        {
            var activations = new Q8KActivations();
            activations.Quantize(x, tokens, weights.Columns);
            QuantizedMatMul.Multiply(weights, activations, output, isa, threads, weights.Rows, 0);
            return activations.Dequantize;
        }
        var blocks = new Q8Activations();
        blocks.Quantize(x, tokens, weights.Columns);
        QuantizedMatMul.Multiply(weights, blocks, output, isa, threads);
        return blocks.Dequantize;
    }

    /// <summary>Random block bytes with every half-precision scale field set to a finite value of either sign.</summary>
    internal static QuantizedMatrix RandomMatrix(Random random, GgufTensorType type, int rows, int columns)
    {
        var format = BlockFormats.Get(type);
        int count = rows * columns / format.BlockValues;
        var bytes = new byte[count * format.BlockBytes];
        random.NextBytes(bytes);
        int[] halves = type switch
        {
            GgufTensorType.Q4_K or GgufTensorType.Q5_K => [0, 2],
            GgufTensorType.Q6_K => [208],
            GgufTensorType.Q3_K => [108],
            GgufTensorType.Q2_K => [80, 82],
            GgufTensorType.Q4_1 or GgufTensorType.Q5_1 => [0, 2],
            _ => [0],
        };
        for (int b = 0; b < count; b++)
            foreach (int at in halves)
                BitConverter.TryWriteBytes(bytes.AsSpan((b * format.BlockBytes) + at), (Half)((random.NextDouble() - 0.5) * 0.1));
        return QuantizedMatrix.FromGgufBlocks(type, rows, columns, bytes);
    }
}
