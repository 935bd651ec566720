using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Quantization;
using Xunit;

namespace QuickSilver.Engine.Tests.Kernels;

/// <summary>
/// The int8 GEMM (products of ≥ <see cref="KernelSettings.GemmMinTokens"/> activation rows) against the scalar block
/// decoders: decoded weights times the decoded 8-bit activations, summed in float64, on ragged shapes (row counts off the
/// 4-row tile, odd block counts, token counts off the 16-token group). Then the per-row invariant: a (row, token) result
/// is bit-identical whatever the number of tokens in the call, the token's position and the threads. Runs in the
/// non-parallel collection because the fallback test flips process-wide <see cref="KernelSettings"/>.
/// </summary>
[Collection(TensorCountCollection.Name)]
public sealed class QuantizedGemmTests
{
    public static TheoryData<GgufTensorType> Formats() =>
        [GgufTensorType.Q8_0, GgufTensorType.Q4_0, GgufTensorType.Q4_K, GgufTensorType.Q5_K, GgufTensorType.Q6_K];

    [Theory]
    [MemberData(nameof(Formats))]
    public void MatchesTheDecodedReference(GgufTensorType type)
    {
        if (!QuantizedGemm.IsSupported) return;
        var random = new Random(43 + (int)type);
        int values = BlockFormats.Get(type).BlockValues;
        foreach (var (rows, blocks, tokens) in new[] { (37, 3, 33), (4, 1, 32), (6, 2, 47), (1, 5, 40) })
        {
            int columns = blocks * Math.Max(values, 64);
            var weights = RandomMatrix(random, type, rows, columns);
            float[] x = QuantizedKernelTests.RandomValues(random, tokens * columns, 2f);
            var output = new float[tokens * rows];
            Assert.True(QuantizedMatMul.UsesGemm(type, tokens, KernelSettings.Best));
            Func<int, float[]> dequantized = Multiply(weights, x, tokens, output, threads: 2);
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
                        $"{type} [{rows}x{columns}] token {t} of {tokens} row {r}: {output[(t * rows) + r]} vs {expected}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void ARowsResultDoesNotDependOnTheOtherRowsOfTheCall(GgufTensorType type)
    {
        if (!QuantizedGemm.IsSupported) return;
        var random = new Random(53 + (int)type);
        int columns = 2 * Math.Max(BlockFormats.Get(type).BlockValues, 64), rows = 9, pool = 100;
        var weights = RandomMatrix(random, type, rows, columns);
        float[] x = QuantizedKernelTests.RandomValues(random, pool * columns, 1.5f);
        float[]? reference = null;
        foreach (int n in new[] { 32, 33, 47, 64, 100 })
        {
            foreach (bool reversed in new[] { false, true })
            {
                // Token i of the pool sits at position i (or n − 1 − i) of a call of n tokens.
                var input = new float[n * columns];
                for (int i = 0; i < n; i++) x.AsSpan(i * columns, columns).CopyTo(input.AsSpan((reversed ? n - 1 - i : i) * columns));
                var output = new float[n * rows];
                Multiply(weights, input, n, output, threads: reversed ? 1 : 2);
                if (reference == null)
                {
                    reference = new float[pool * rows];
                    Multiply(weights, x, pool, reference, threads: 2);
                }
                for (int i = 0; i < n; i++)
                    for (int r = 0; r < rows; r++)
                        Assert.True(BitConverter.SingleToInt32Bits(reference[(i * rows) + r]) == BitConverter.SingleToInt32Bits(output[((reversed ? n - 1 - i : i) * rows) + r]),
                            $"{type} n {n} reversed {reversed} token {i} row {r}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void TheVnniMachineCodeGivesTheManagedKernelsBits(GgufTensorType type)
    {
        // The AVX-512 VNNI kernels (machine code) compute the same exact integer block dots and the same float operations
        // in the same order as the managed vpmaddubsw kernels, so every (row, token) result has the same bits. Ragged
        // shapes: rows off the 4-row tile, token counts off the 16-token group, one and several blocks.
        if (!QuantizedGemm.IsSupported || !GemmVnniCode.IsAvailable) return;
        var random = new Random(71 + (int)type);
        int values = BlockFormats.Get(type).BlockValues;
        bool saved = QuantizedGemm.Vnni;
        try
        {
            foreach (var (rows, blocks, tokens) in new[] { (37, 3, 33), (4, 1, 32), (6, 2, 47), (1, 5, 40), (13, 1, 130) })
            {
                int columns = blocks * Math.Max(values, 64);
                var weights = RandomMatrix(random, type, rows, columns);
                float[] x = QuantizedKernelTests.RandomValues(random, tokens * columns, 2f);
                var vnni = new float[tokens * rows];
                var managed = new float[tokens * rows];
                QuantizedGemm.Vnni = true;
                Multiply(weights, x, tokens, vnni, threads: 2);
                QuantizedGemm.Vnni = false;
                Multiply(weights, x, tokens, managed, threads: 2);
                for (int i = 0; i < vnni.Length; i++)
                    Assert.True(BitConverter.SingleToInt32Bits(vnni[i]) == BitConverter.SingleToInt32Bits(managed[i]),
                        $"{type} [{rows}x{columns}] tokens {tokens}: token {i / rows} row {i % rows}: {vnni[i]} vs {managed[i]}");
            }
        }
        finally
        {
            QuantizedGemm.Vnni = saved;
        }
    }

    [Fact]
    public void TheSwitchFallsBackToThePerRowKernels()
    {
        if (!QuantizedGemm.IsSupported) return;
        var random = new Random(59);
        int rows = 7, columns = 256, tokens = 40;
        var weights = QuantizedMatrix.Quantize(GgufTensorType.Q8_0, rows, columns, QuantizedKernelTests.RandomValues(random, rows * columns, 1f));
        float[] x = QuantizedKernelTests.RandomValues(random, tokens * columns, 1f);
        var gemm = new float[tokens * rows];
        var perRow = new float[tokens * rows];
        var single = new float[rows];
        Multiply(weights, x, tokens, gemm, threads: 2);
        bool saved = KernelSettings.MatrixMatrix;
        try
        {
            KernelSettings.MatrixMatrix = false;
            Assert.False(QuantizedMatMul.UsesGemm(GgufTensorType.Q8_0, tokens, KernelSettings.Best));
            Multiply(weights, x, tokens, perRow, threads: 2);
        }
        finally
        {
            KernelSettings.MatrixMatrix = saved;
        }
        for (int t = 0; t < tokens; t++)
        {
            // The old path is the decode kernel: each token alone gives the same bits.
            Multiply(weights, x.AsSpan(t * columns, columns).ToArray(), 1, single, threads: 1);
            Assert.Equal(single, perRow.AsSpan(t * rows, rows).ToArray());
            for (int r = 0; r < rows; r++)
                Assert.True(Math.Abs(gemm[(t * rows) + r] - perRow[(t * rows) + r]) <= 1e-4 * (1 + Math.Abs(perRow[(t * rows) + r])), $"token {t} row {r}");
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelSettings.GemmMinTokens = 0);
    }

    [Theory]
    [InlineData(GgufTensorType.Q8_0)]
    [InlineData(GgufTensorType.Q4_K)]
    public void ABatchedDecodeStepOfManySequencesNeverTakesTheGemm(GgufTensorType type)
    {
        // 40 rows of 40 different sequences through the row plan: each must equal its sequence alone bit for bit.
        var random = new Random(61);
        int rows = 11, columns = 512, n = 40;
        var weights = RandomMatrix(random, type, rows, columns);
        var plan = PackedRowPlan.Create([weights], 2);
        float[] x = QuantizedKernelTests.RandomValues(random, n * columns, 1f);
        var batched = new float[n * rows];
        var alone = new float[rows];
        Q8Activations? blocks32 = null;
        Q8KActivations? blocks256 = null;
        void Quantize(float[] source, int count)
        {
            if (weights.BlockValues == 256) (blocks256 = new Q8KActivations()).Quantize(source, count, columns);
            else (blocks32 = new Q8Activations()).Quantize(source, count, columns);
        }
        Quantize(x, n);
        plan.Multiply(x, n, blocks32, blocks256, batched, rows, KernelSettings.Best);
        for (int t = 0; t < n; t++)
        {
            float[] row = x.AsSpan(t * columns, columns).ToArray();
            Quantize(row, 1);
            plan.Multiply(row, 1, blocks32, blocks256, alone, rows, KernelSettings.Best);
            Assert.Equal(alone, batched.AsSpan(t * rows, rows).ToArray());
        }
    }

    private static QuantizedMatrix RandomMatrix(Random random, GgufTensorType type, int rows, int columns) =>
        QuantizedMatrix.CanQuantizeTo(type)
            ? QuantizedMatrix.Quantize(type, rows, columns, QuantizedKernelTests.RandomValues(random, rows * columns, 0.5f))
            : PackedFormatKernelTests.RandomMatrix(random, type, rows, columns);

    /// <summary>Multiplies on the best path with the activation form the format takes; returns the decoded activations of a row.</summary>
    private static Func<int, float[]> Multiply(QuantizedMatrix weights, float[] x, int tokens, float[] output, int threads)
    {
        if (weights.BlockValues == 256)
        {
            var activations = new Q8KActivations();
            activations.Quantize(x, tokens, weights.Columns);
            QuantizedMatMul.Multiply(weights, activations, output, KernelSettings.Best, threads, weights.Rows, 0);
            return activations.Dequantize;
        }
        var blocks = new Q8Activations();
        blocks.Quantize(x, tokens, weights.Columns);
        QuantizedMatMul.Multiply(weights, blocks, output, KernelSettings.Best, threads);
        return blocks.Dequantize;
    }
}
