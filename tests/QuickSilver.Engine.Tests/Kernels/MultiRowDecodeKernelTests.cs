using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Loading;
using Xunit;

namespace QuickSilver.Engine.Tests.Kernels;

/// <summary>
/// The multi-activation-row decode kernel (<see cref="DecodeMatVecRows"/>) against the one-row kernel
/// (<see cref="DecodeMatVec"/>, itself tested against the scalar reference): every (weight row, activation row) result is
/// bit-identical, for block counts around the 8- and 16-block steps (ragged tails), weight row ranges, any number of
/// activation rows, and extreme codes.
/// </summary>
public sealed unsafe class MultiRowDecodeKernelTests
{
    private static readonly int[] BlockCounts = [1, 2, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 47, 64, 88];

    [Fact]
    public void EveryRowEqualsTheOneRowKernelBitForBit()
    {
        if (!DecodeMatVecRows.Handles(GgufTensorType.Q8_0)) return;
        var random = new Random(71);
        foreach (int nb in BlockCounts)
        {
            int columns = nb * 32, rows = 1 + random.Next(13);
            var weights = QuantizedMatrix.Quantize(GgufTensorType.Q8_0, rows, columns, QuantizedKernelTests.RandomValues(random, rows * columns, 0.5f));
            foreach (int n in new[] { 1, 2, 3, 5, 8, 12 })
            {
                var activations = new Q8Activations();
                activations.Quantize(QuantizedKernelTests.RandomValues(random, n * columns, 3f), n, columns);
                AssertSameBits(weights, activations, 0, rows, $"nb {nb} N {n}");
                if (rows > 2) AssertSameBits(weights, activations, 1, rows - 1, $"nb {nb} N {n} inner rows");
            }
        }
    }

    [Fact]
    public void ExtremeCodesAndScalesStayExact()
    {
        if (!DecodeMatVecRows.Handles(GgufTensorType.Q8_0)) return;
        var random = new Random(3);
        foreach (int nb in new[] { 16, 19, 40 })
        {
            int columns = nb * 32;
            // Saturated weights (every code ±127) and activations of mixed magnitude, including all-zero blocks.
            var values = new float[4 * columns];
            for (int i = 0; i < values.Length; i++) values[i] = random.Next(2) == 0 ? 1e3f : -1e3f;
            var weights = QuantizedMatrix.Quantize(GgufTensorType.Q8_0, 4, columns, values);
            var x = QuantizedKernelTests.RandomValues(random, 6 * columns, 1e4f);
            x.AsSpan(columns, 64).Clear();
            for (int i = 2 * columns; i < 3 * columns; i++) x[i] = i % 2 == 0 ? 50f : -50f;
            var activations = new Q8Activations();
            activations.Quantize(x, 6, columns);
            AssertSameBits(weights, activations, 0, 4, $"extreme nb {nb}");
        }
    }

    [Fact]
    public void TheProductSwitchGivesTheSameBitsOnAndOff()
    {
        if (!DecodeMatVecRows.Handles(GgufTensorType.Q8_0)) return;
        var random = new Random(9);
        int rows = 45, columns = 37 * 32, n = 8;
        var weights = QuantizedMatrix.Quantize(GgufTensorType.Q8_0, rows, columns, QuantizedKernelTests.RandomValues(random, rows * columns, 1f));
        var activations = new Q8Activations();
        activations.Quantize(QuantizedKernelTests.RandomValues(random, n * columns, 1f), n, columns);
        var on = new float[n * rows];
        var off = new float[n * rows];
        QuantizedMatMul.Multiply(weights, activations, on, KernelIsa.Avx512, threads: 2);
        try
        {
            KernelSettings.MultiRowDecode = false;
            QuantizedMatMul.Multiply(weights, activations, off, KernelIsa.Avx512, threads: 2);
        }
        finally
        {
            KernelSettings.MultiRowDecode = true;
        }
        for (int i = 0; i < on.Length; i++) Assert.Equal(BitConverter.SingleToInt32Bits(off[i]), BitConverter.SingleToInt32Bits(on[i]));
    }

    private static void AssertSameBits(QuantizedMatrix weights, Q8Activations activations, int rowStart, int rowEnd, string what)
    {
        int n = activations.Rows, stride = weights.Rows + 3; // a wider output row, as a stacked projection writes
        var expected = new float[n * stride];
        var actual = new float[n * stride];
        bool vnni = DecodeMatVec.UseVnni;
        fixed (float* e = expected)
        fixed (float* a = actual)
        {
            foreach (bool useVnni in new[] { true, false })
            {
                try
                {
                    DecodeMatVec.UseVnni = useVnni && System.Runtime.Intrinsics.X86.AvxVnni.IsSupported;
                    DecodeMatVec.Run(weights, activations, e, stride, rowStart, rowEnd);
                }
                finally
                {
                    DecodeMatVec.UseVnni = vnni;
                }
                DecodeMatVecRows.Run(weights, activations, a, stride, rowStart, rowEnd);
                for (int t = 0; t < n; t++)
                {
                    for (int r = rowStart; r < rowEnd; r++)
                    {
                        int i = (t * stride) + r;
                        Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                            $"{what} vnni {useVnni} token {t} row {r}: {actual[i]} vs {expected[i]}");
                    }
                }
                Assert.All(Enumerable.Range(0, n).SelectMany(t => Enumerable.Range(0, stride).Where(r => r < rowStart || r >= rowEnd).Select(r => actual[(t * stride) + r])), v => Assert.Equal(0f, v));
            }
        }
    }
}
