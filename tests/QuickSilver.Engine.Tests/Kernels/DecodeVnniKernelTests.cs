using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Loading;
using Xunit;

namespace QuickSilver.Engine.Tests.Kernels;

/// <summary>
/// The AVX-512 VNNI machine-code decode kernel (<see cref="DecodeVnniCode"/>) against the managed one-row kernel
/// (<see cref="DecodeMatVec"/>, itself tested against the scalar reference): every (weight row, activation row) result is
/// bit-identical for Q8_0 and Q4_0, block counts around the 16-block groups (ragged tails), weight row ranges, any number
/// of activation rows, and extreme codes; and the product dispatch gives the same bits with the kernel on and off.
/// </summary>
public sealed unsafe class DecodeVnniKernelTests
{
    private static readonly int[] BlockCounts = [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 20, 24, 31, 32, 33, 47, 64, 88];

    public static TheoryData<GgufTensorType> Types => new() { GgufTensorType.Q8_0, GgufTensorType.Q4_0 };

    [Theory]
    [MemberData(nameof(Types))]
    public void EveryRowEqualsTheManagedOneRowKernelBitForBit(GgufTensorType type)
    {
        if (!DecodeVnniCode.IsAvailable) return;
        var random = new Random(71);
        foreach (int nb in BlockCounts)
        {
            int columns = nb * 32, rows = 1 + random.Next(13);
            var weights = QuantizedMatrix.Quantize(type, rows, columns, QuantizedKernelTests.RandomValues(random, rows * columns, 0.5f));
            foreach (int n in new[] { 1, 2, 3, 5, 8, 12, 33 })
            {
                var activations = new Q8Activations();
                activations.Quantize(QuantizedKernelTests.RandomValues(random, n * columns, 3f), n, columns);
                AssertSameBits(weights, activations, 0, rows, $"{type} nb {nb} N {n}");
                if (rows > 2) AssertSameBits(weights, activations, 1, rows - 1, $"{type} nb {nb} N {n} inner rows");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void ExtremeCodesAndScalesStayExact(GgufTensorType type)
    {
        if (!DecodeVnniCode.IsAvailable) return;
        var random = new Random(3);
        foreach (int nb in new[] { 16, 19, 40 })
        {
            int columns = nb * 32;
            // Saturated weights (every code at its extreme) and activations of mixed magnitude, including all-zero blocks.
            var values = new float[4 * columns];
            for (int i = 0; i < values.Length; i++) values[i] = random.Next(2) == 0 ? 1e3f : -1e3f;
            var weights = QuantizedMatrix.Quantize(type, 4, columns, values);
            var x = QuantizedKernelTests.RandomValues(random, 6 * columns, 1e4f);
            x.AsSpan(columns, 64).Clear();
            for (int i = 2 * columns; i < 3 * columns; i++) x[i] = i % 2 == 0 ? 50f : -50f;
            var activations = new Q8Activations();
            activations.Quantize(x, 6, columns);
            AssertSameBits(weights, activations, 0, 4, $"extreme {type} nb {nb}");
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void TheProductGivesTheSameBitsWithTheKernelOnAndOff(GgufTensorType type)
    {
        if (!DecodeVnniCode.IsAvailable) return;
        var random = new Random(9);
        int rows = 45, columns = 37 * 32;
        var weights = QuantizedMatrix.Quantize(type, rows, columns, QuantizedKernelTests.RandomValues(random, rows * columns, 1f));
        foreach (int n in new[] { 1, 8 })
        {
            var activations = new Q8Activations();
            activations.Quantize(QuantizedKernelTests.RandomValues(random, n * columns, 1f), n, columns);
            var on = new float[n * rows];
            var off = new float[n * rows];
            try
            {
                DecodeVnniCode.OneRow = true; // one row too, so both counts run on the machine code
                QuantizedMatMul.MultiplyPerRow(weights, activations, on, KernelIsa.Avx512, threads: 2, rows, 0);
            }
            finally
            {
                DecodeVnniCode.OneRow = false;
            }
            try
            {
                DecodeVnniCode.Enabled = false;
                QuantizedMatMul.MultiplyPerRow(weights, activations, off, KernelIsa.Avx512, threads: 2, rows, 0);
            }
            finally
            {
                DecodeVnniCode.Enabled = true;
            }
            for (int i = 0; i < on.Length; i++) Assert.Equal(BitConverter.SingleToInt32Bits(off[i]), BitConverter.SingleToInt32Bits(on[i]));
        }
    }

    [Fact]
    public void LoadsOnLinuxX64WithAvx512VnniUnlessSwitchedOff()
    {
        bool expected = OperatingSystem.IsLinux() && System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64
            && ExecutableCode.CpuHasAvx512Vnni() && Environment.GetEnvironmentVariable("QUICKSILVER_DECODE_VNNI") != "0";
        Assert.Equal(expected, DecodeVnniCode.IsAvailable);
    }

    [Fact]
    public void GroupOrderHoldsEveryCodeOnceAndZerosPastTheRow()
    {
        var random = new Random(4);
        foreach (int nb in new[] { 1, 15, 16, 17, 40 })
        {
            int columns = nb * 32;
            var activations = new Q8Activations();
            activations.Quantize(QuantizedKernelTests.RandomValues(random, 3 * columns, 2f), 3, columns);
            for (int t = 0; t < 3; t++)
            {
                for (int b = 0; b < activations.PaddedBlocks; b++)
                {
                    for (int e = 0; e < 32; e++)
                    {
                        int at = (t * activations.GroupRowBytes) + (b / 16 * 512) + (e / 4 * 64) + (b % 16 * 4) + (e % 4);
                        sbyte expected = b < nb ? activations.Codes[(t * columns) + (b * 32) + e] : (sbyte)0;
                        Assert.Equal(expected, activations.GroupOrder[at]); // GroupOrder starts at its aligned offset
                    }
                }
            }
        }
    }

    private static void AssertSameBits(QuantizedMatrix weights, Q8Activations activations, int rowStart, int rowEnd, string what)
    {
        int n = activations.Rows, stride = weights.Rows + 3; // a wider output row, as a stacked projection writes
        var expected = new float[n * stride];
        var actual = new float[n * stride];
        fixed (float* e = expected)
        fixed (float* a = actual)
        {
            DecodeMatVec.Run(weights, activations, e, stride, rowStart, rowEnd);
            DecodeVnniCode.Run(weights, activations, a, stride, rowStart, rowEnd);
        }
        for (int t = 0; t < n; t++)
        {
            for (int r = 0; r < stride; r++)
            {
                int i = (t * stride) + r;
                if (r < rowStart || r >= rowEnd)
                {
                    Assert.Equal(0f, actual[i]);
                    continue;
                }
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                    $"{what} token {t} row {r}: {actual[i]} vs {expected[i]}");
            }
        }
    }
}
