using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Loading;
using Xunit;

namespace QuickSilver.Engine.Tests.Kernels;

/// <summary>
/// The AVX-512 decode kernel (<see cref="DecodeMatVec"/>) against the scalar reference row dot and the ggml block
/// decoders, on random blocks with ragged row counts and block counts around its 16-block step; and the per-row invariant:
/// a (weight row, activation row) result is bit-identical whatever the number of activation rows, the row's place among
/// them, the thread count and the weight rows around it.
/// </summary>
public sealed unsafe class DecodeKernelTests
{
    private static readonly int[] BlockCounts = [1, 2, 3, 4, 5, 7, 15, 16, 17, 20, 31, 32, 33, 47, 88];

    public static TheoryData<GgufTensorType> Types() => new() { GgufTensorType.Q8_0, GgufTensorType.Q4_0 };

    [Fact]
    public void HalfScalesWidenExactlyLikeTheTable()
    {
        if (!DecodeMatVec.IsSupported) return;
        ushort* halves = stackalloc ushort[16];
        for (int first = 0; first < 65536; first += 16)
        {
            for (int i = 0; i < 16; i++) halves[i] = (ushort)(first + i);
            var widened = DecodeMatVec.HalfToSingle(System.Runtime.Intrinsics.Vector256.Load(halves));
            for (int i = 0; i < 16; i++)
            {
                float expected = HalfTable.Values[first + i];
                if (float.IsNaN(expected)) Assert.True(float.IsNaN(widened[i]), $"half 0x{first + i:X4}");
                else Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(widened[i]));
            }
        }
    }

    [Fact]
    public void FiniteHalfScalesWidenExactlyLikeTheTable()
    {
        if (!DecodeMatVec.IsSupported) return;
        ushort* halves = stackalloc ushort[16];
        for (int first = 0; first < 65536; first += 16)
        {
            for (int i = 0; i < 16; i++) halves[i] = (ushort)(first + i);
            var widened = DecodeMatVec.FiniteHalfToSingle(System.Runtime.Intrinsics.Vector256.Load(halves));
            for (int i = 0; i < 16; i++)
            {
                if (((first + i) & 0x7C00) == 0x7C00) continue; // infinities and NaNs: not this path's input
                Assert.Equal(BitConverter.SingleToInt32Bits(HalfTable.Values[first + i]), BitConverter.SingleToInt32Bits(widened[i]));
            }
        }
    }

    [Fact]
    public void RowSumsByPairsGiveTheBitsOfVectorSumAloneAndFourTogether()
    {
        if (!DecodeMatVec.IsSupported) return;
        var random = new Random(8);
        var c = new System.Runtime.Intrinsics.Vector512<float>[4];
        for (int round = 0; round < 2000; round++)
        {
            for (int k = 0; k < 4; k++)
                c[k] = System.Runtime.Intrinsics.Vector512.Create(RandomValues(random, 16, MathF.Pow(10, random.Next(-3, 4))));
            var four = DecodeMatVec.Sum4(c[0], c[1], c[2], c[3]);
            for (int k = 0; k < 4; k++)
            {
                int alone = BitConverter.SingleToInt32Bits(DecodeMatVec.Sum16(c[k]));
                Assert.Equal(alone, BitConverter.SingleToInt32Bits(four[k]));
                Assert.Equal(BitConverter.SingleToInt32Bits(System.Runtime.Intrinsics.Vector512.Sum(c[k])), alone);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void ANonFiniteScaleKeepsTheExactWidening(GgufTensorType type)
    {
        if (!DecodeMatVec.IsSupported) return;
        int blockBytes = QuantizedMatrix.BlockBytes(type);
        const int Rows = 2, Blocks = 17;
        var blocks = new byte[Rows * Blocks * blockBytes];
        new Random(4).NextBytes(blocks);
        for (int b = 0; b < Rows * Blocks; b++) BitConverter.TryWriteBytes(blocks.AsSpan(b * blockBytes), (ushort)0x2C00); // 1/16
        var finite = QuantizedMatrix.FromGgufBlocks(type, Rows, Blocks * 32, blocks);
        Assert.True(finite.FiniteScales);
        Assert.True(finite.SliceRows(1, 1).FiniteScales);
        BitConverter.TryWriteBytes(blocks.AsSpan(((Blocks + 16) * blockBytes)), (ushort)0xFC00); // −Inf in row 1's last (tail) block
        var infinite = QuantizedMatrix.FromGgufBlocks(type, Rows, Blocks * 32, blocks);
        Assert.False(infinite.FiniteScales);
        var activations = new Q8Activations();
        activations.Quantize(RandomValues(new Random(6), Blocks * 32, 1f), 1, Blocks * 32);
        var output = new float[Rows];
        QuantizedMatMul.Multiply(infinite, activations, output, KernelIsa.Avx512, threads: 1);
        Assert.Equal(FastDot(finite, activations, 0, 0, vnni: false), output[0]);
        Assert.True(float.IsInfinity(output[1]) || float.IsNaN(output[1]), $"row 1: {output[1]}");
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void RowDotsMatchTheScalarReferenceAndTheDecodedBlocks(GgufTensorType type)
    {
        if (!DecodeMatVec.IsSupported) return;
        var random = new Random(11);
        foreach (int nb in BlockCounts)
        {
            int columns = nb * 32;
            const int Rows = 3, Tokens = 2;
            var weights = QuantizedMatrix.Quantize(type, Rows, columns, RandomValues(random, Rows * columns, 0.5f));
            var activations = new Q8Activations();
            activations.Quantize(RandomValues(random, Tokens * columns, 2f), Tokens, columns);
            float[] decoded = weights.Dequantize();
            for (int t = 0; t < Tokens; t++)
            {
                float[] a = activations.Dequantize(t);
                for (int r = 0; r < Rows; r++)
                {
                    double expected = 0, magnitude = 0;
                    for (int c = 0; c < columns; c++)
                    {
                        expected += (double)decoded[(r * columns) + c] * a[c];
                        magnitude += Math.Abs((double)decoded[(r * columns) + c] * a[c]);
                    }
                    float scalar = ScalarDot(weights, activations, r, t);
                    Assert.True(Math.Abs(scalar - expected) <= (1e-5 * magnitude) + 1e-6, $"scalar {type} nb {nb}");
                    foreach (bool vnni in VnniChoices())
                    {
                        float fast = FastDot(weights, activations, r, t, vnni);
                        Assert.True(Math.Abs(fast - expected) <= (1e-5 * magnitude) + 1e-6, $"{type} nb {nb} vnni {vnni} row {r} token {t}: {fast} vs {expected}");
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void VnniAndMaddUbsGiveTheSameBits(GgufTensorType type)
    {
        if (!DecodeMatVec.IsSupported || !System.Runtime.Intrinsics.X86.AvxVnni.IsSupported) return;
        var random = new Random(5);
        foreach (int nb in BlockCounts)
        {
            int columns = nb * 32;
            var weights = QuantizedMatrix.Quantize(type, 4, columns, RandomValues(random, 4 * columns, 1f));
            var activations = new Q8Activations();
            activations.Quantize(RandomValues(random, columns, 1f), 1, columns);
            for (int r = 0; r < 4; r++) Assert.Equal(FastDot(weights, activations, r, 0, vnni: false), FastDot(weights, activations, r, 0, vnni: true));
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void EachRowIsBitIdenticalWhateverTheCallAroundIt(GgufTensorType type)
    {
        if (!DecodeMatVec.IsSupported) return;
        var random = new Random(23);
        foreach (var (rows, nb) in new[] { (37, 17), (5, 88), (64, 32), (19, 3) })
        {
            int columns = nb * 32;
            var weights = QuantizedMatrix.Quantize(type, rows, columns, RandomValues(random, rows * columns, 0.5f));
            float[] x = RandomValues(random, 9 * columns, 2f);
            // Each activation row alone, on one thread: the reference bits.
            var alone = new float[9][];
            for (int t = 0; t < 9; t++)
            {
                var single = new Q8Activations();
                single.Quantize(x.AsSpan(t * columns, columns), 1, columns);
                alone[t] = new float[rows];
                QuantizedMatMul.Multiply(weights, single, alone[t], KernelIsa.Avx512, threads: 1);
            }
            for (int n = 1; n <= 9; n++)
            {
                for (int first = 0; first + n <= 9; first += Math.Max(1, 9 - n))
                {
                    var activations = new Q8Activations();
                    activations.Quantize(x.AsSpan(first * columns, n * columns), n, columns);
                    foreach (int threads in new[] { 1, 2, 3 })
                    {
                        var output = new float[n * rows];
                        QuantizedMatMul.Multiply(weights, activations, output, KernelIsa.Avx512, threads);
                        for (int t = 0; t < n; t++)
                            for (int r = 0; r < rows; r++)
                                Assert.True(BitConverter.SingleToInt32Bits(output[(t * rows) + r]) == BitConverter.SingleToInt32Bits(alone[first + t][r]),
                                    $"{type} [{rows}x{columns}] N={n} first={first} threads={threads} token {t} row {r}");
                    }
                }
            }
            // A row slice (one part of a stacked projection) gives the same bits as the whole matrix.
            var slice = weights.SliceRows(rows / 3, rows - (rows / 3));
            var one = new Q8Activations();
            one.Quantize(x.AsSpan(0, columns), 1, columns);
            var sliced = new float[slice.Rows];
            QuantizedMatMul.Multiply(slice, one, sliced, KernelIsa.Avx512, threads: 2);
            for (int r = 0; r < slice.Rows; r++) Assert.Equal(alone[0][(rows / 3) + r], sliced[r]);
        }
    }

    public static TheoryData<GgufTensorType> KTypes() => new() { GgufTensorType.Q4_K, GgufTensorType.Q5_K, GgufTensorType.Q6_K };

    [Theory]
    [MemberData(nameof(KTypes))]
    public void KQuantFourRowsGiveTheBitsOfEachRowAlone(GgufTensorType type)
    {
        if (!KQuantDot.HasRows4(type, KernelIsa.Avx512)) return;
        var random = new Random(41 + (int)type);
        foreach (int nb in new[] { 1, 4, 11 })
        {
            int columns = nb * 256;
            var weights = PackedFormatKernelTests.RandomMatrix(random, type, 4, columns);
            var activations = new Q8KActivations();
            activations.Quantize(RandomValues(random, columns, 2f), 1, columns);
            fixed (byte* w = weights.Codes)
            fixed (sbyte* a = activations.CodesFor(type))
            fixed (float* sa = activations.Scales)
            fixed (short* sums = activations.Sums)
            {
                var four = KQuantDot.Rows4(type, w, weights.RowCodeBytes, a, sa, sums, nb);
                for (int r = 0; r < 4; r++)
                {
                    float alone = KQuantDot.Dot(type, KernelIsa.Avx512, w + (r * weights.RowCodeBytes), a, sa, sums, nb);
                    Assert.Equal(BitConverter.SingleToInt32Bits(alone), BitConverter.SingleToInt32Bits(four[r]));
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(KTypes))]
    public void KQuantRowsAreBitIdenticalWhateverTheCallAroundIt(GgufTensorType type)
    {
        if (!DecodeMatVec.IsSupported) return;
        var random = new Random(31 + (int)type);
        foreach (var (rows, nb) in new[] { (21, 1), (5, 11), (34, 4) })
        {
            int columns = nb * 256;
            var weights = PackedFormatKernelTests.RandomMatrix(random, type, rows, columns);
            float[] x = RandomValues(random, 9 * columns, 2f);
            var alone = new float[9][];
            for (int t = 0; t < 9; t++)
            {
                var single = new Q8KActivations();
                single.Quantize(x.AsSpan(t * columns, columns), 1, columns);
                alone[t] = new float[rows];
                QuantizedMatMul.Multiply(weights, single, alone[t], KernelIsa.Avx512, 1, rows, 0);
            }
            for (int n = 1; n <= 9; n++)
            {
                int first = (9 - n) / 2;
                var activations = new Q8KActivations();
                activations.Quantize(x.AsSpan(first * columns, n * columns), n, columns);
                foreach (int threads in new[] { 1, 2 })
                {
                    var output = new float[n * rows];
                    QuantizedMatMul.Multiply(weights, activations, output, KernelIsa.Avx512, threads, rows, 0);
                    for (int t = 0; t < n; t++)
                        for (int r = 0; r < rows; r++)
                            Assert.True(BitConverter.SingleToInt32Bits(output[(t * rows) + r]) == BitConverter.SingleToInt32Bits(alone[first + t][r]),
                                $"{type} [{rows}x{columns}] N={n} threads={threads} token {t} row {r}");
                }
            }
        }
    }

    [Theory]
    [InlineData(GgufTensorType.Q4_K)]
    [InlineData(GgufTensorType.Q5_K)]
    public void WideKQuantDotsMatchTheScalarReference(GgufTensorType type)
    {
        if (!DecodeMatVec.IsSupported) return;
        var random = new Random(41);
        foreach (int nb in new[] { 1, 2, 3, 4, 11 })
        {
            int columns = nb * 256;
            var weights = PackedFormatKernelTests.RandomMatrix(random, type, 6, columns);
            var activations = new Q8KActivations();
            activations.Quantize(RandomValues(random, columns, 3f), 1, columns);
            var scalar = new float[6];
            var wide = new float[6];
            QuantizedMatMul.Multiply(weights, activations, scalar, KernelIsa.Scalar, 1, 6, 0);
            QuantizedMatMul.Multiply(weights, activations, wide, KernelIsa.Avx512, 1, 6, 0);
            float[] decoded = weights.Dequantize();
            float[] a = activations.Dequantize(0);
            for (int r = 0; r < 6; r++)
            {
                double magnitude = 0;
                for (int c = 0; c < columns; c++) magnitude += Math.Abs((double)decoded[(r * columns) + c] * a[c]);
                Assert.True(Math.Abs(wide[r] - scalar[r]) <= (2e-5 * magnitude) + 1e-6, $"{type} nb {nb} row {r}: {wide[r]} vs {scalar[r]}");
            }
        }
    }

    [Fact]
    public void Q4OrderHoldsEachGroupsHalvesInNibbleOrder()
    {
        var random = new Random(2);
        const int Columns = 7 * 32, Rows = 2;
        var activations = new Q8Activations();
        activations.Quantize(RandomValues(random, Rows * Columns, 1f), Rows, Columns);
        Assert.Equal(256, activations.Q4RowBytes);
        Assert.Equal(16, activations.PaddedBlocks);
        for (int r = 0; r < Rows; r++)
        {
            for (int j = 0; j < 8; j++)
                for (int i = 0; i < 32; i++)
                {
                    sbyte expected = j < 7 ? activations.Codes[(r * Columns) + (j * 32) + i] : (sbyte)0;
                    int at = (r * 256) + (j / 4 * 128) + (j % 4 * 16) + (i < 16 ? i : 64 + i - 16);
                    Assert.Equal(expected, activations.Q4Order[at]);
                }
            for (int j = 7; j < 16; j++)
            {
                Assert.Equal(0f, activations.PaddedScales[(r * 16) + j]);
                Assert.Equal(0, activations.BlockSums[(r * 16) + j]);
            }
        }
    }

    [Fact]
    public void StackedRowsSplitByBytesAcrossMixedFormats()
    {
        var random = new Random(3);
        // q|k|v: two Q4_K parts (144 bytes per 256 values) and a Q6_K one (210): the cut moves toward the heavier rows.
        var q = PackedFormatKernelTests.RandomMatrix(random, GgufTensorType.Q4_K, 64, 256);
        var k = PackedFormatKernelTests.RandomMatrix(random, GgufTensorType.Q4_K, 32, 256);
        var v = PackedFormatKernelTests.RandomMatrix(random, GgufTensorType.Q6_K, 32, 256);
        long[] bounds = PackedRowPlan.ByteBalancedBounds([q, k, v], 2);
        Assert.Equal(0, bounds[0]);
        Assert.Equal(128, bounds[2]);
        long total = q.ByteSize + k.ByteSize + v.ByteSize;
        long firstBytes = Math.Min(bounds[1], 96) * 144 + (Math.Max(0, bounds[1] - 96) * 210);
        Assert.InRange(Math.Abs((2 * firstBytes) - total), 0, 2 * 210);
        Assert.Equal([0L, 10L], PackedRowPlan.ByteBalancedBounds([q.SliceRows(0, 10)], 1));
    }

    [Fact]
    public void PersistentWorkersRunEveryShareOnceAndPassFailuresBack()
    {
        for (int round = 0; round < 200; round++)
        {
            int parts = 2 + (round % 3);
            var hits = new int[parts];
            RowFork.For(parts, p => Interlocked.Increment(ref hits[p]), persistent: true);
            Assert.All(hits, h => Assert.Equal(1, h));
        }
        var failure = Assert.Throws<AggregateException>(() => RowFork.For(2, p => { if (p == 1) throw new InvalidOperationException("share 1"); }, persistent: true));
        Assert.Contains("share 1", failure.ToString());
        var after = new int[2];
        RowFork.For(2, p => after[p]++, persistent: true);
        Assert.Equal([1, 1], after);
    }

    private static bool[] VnniChoices() => System.Runtime.Intrinsics.X86.AvxVnni.IsSupported ? [false, true] : [false];

    private static float ScalarDot(QuantizedMatrix weights, Q8Activations activations, int row, int token)
    {
        int nb = weights.BlocksPerRow;
        fixed (byte* w = weights.Codes)
        fixed (ushort* ws = weights.Scales)
        fixed (sbyte* a = activations.Codes)
        fixed (float* sa = activations.Scales)
        {
            byte* wr = w + ((long)row * weights.RowCodeBytes);
            return weights.Type == GgufTensorType.Q8_0
                ? BlockDot.Q8_0Scalar(wr, ws + (row * nb), a + (token * weights.Columns), sa + (token * nb), nb)
                : BlockDot.Q4_0Scalar(wr, ws + (row * nb), a + (token * weights.Columns), sa + (token * nb), nb);
        }
    }

    private static float FastDot(QuantizedMatrix weights, Q8Activations activations, int row, int token, bool vnni)
    {
        int nb = weights.BlocksPerRow, padded = activations.PaddedBlocks;
        fixed (byte* w = weights.Codes)
        fixed (ushort* ws = weights.Scales)
        fixed (sbyte* a = activations.Codes)
        fixed (sbyte* q4 = activations.Q4Order)
        fixed (float* sa = activations.PaddedScales)
        fixed (int* sums = activations.BlockSums)
        {
            byte* wr = w + ((long)row * weights.RowCodeBytes);
            ushort* wsr = ws + (row * nb);
            float* s = sa + (token * padded);
            int* sm = sums + (token * padded);
            if (weights.Type == GgufTensorType.Q8_0)
            {
                sbyte* at = a + (token * weights.Columns);
                return vnni ? DecodeMatVec.Q8_0<DecodeMatVec.Vnni>(wr, wsr, at, s, sm, nb) : DecodeMatVec.Q8_0<DecodeMatVec.MaddUbs>(wr, wsr, at, s, sm, nb);
            }
            sbyte* aq = q4 + (token * activations.Q4RowBytes);
            return vnni ? DecodeMatVec.Q4_0<DecodeMatVec.Vnni>(wr, wsr, aq, s, sm, nb) : DecodeMatVec.Q4_0<DecodeMatVec.MaddUbs>(wr, wsr, aq, s, sm, nb);
        }
    }

    private static float[] RandomValues(Random random, int count, float scale)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)((random.NextDouble() * 2) - 1) * scale;
        return values;
    }
}
