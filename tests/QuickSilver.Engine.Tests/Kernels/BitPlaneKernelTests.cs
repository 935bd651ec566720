using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using TorchSharp;
using Xunit;

namespace QuickSilver.Engine.Tests.Kernels;

/// <summary>
/// Nested bit planes of 8-bit weights: the planes hold the Q8_0 codes exactly, the 4- and 2-bit reads are the documented
/// mid-interval truncations, and every SIMD path at every width matches the scalar reference and a float product on
/// the weights decoded at that width, on shapes with ragged super-block tails.
/// </summary>
public sealed class BitPlaneKernelTests
{
    private static readonly (int Rows, int Columns, int Tokens)[] Shapes = [(1, 32, 1), (37, 96, 1), (5, 160, 3), (64, 256, 2), (130, 64, 4), (3, 416, 2), (7, 384, 2), (9, 640, 1), (4, 896, 3), (2, 1056, 2), (3, 2048, 1), (6, 736, 2), (5, 2816, 1), (19, 512, 2)];

    public static TheoryData<KernelIsa, int> Paths()
    {
        var data = new TheoryData<KernelIsa, int>();
        foreach (var isa in Enum.GetValues<KernelIsa>().Where(KernelSettings.IsSupported))
            foreach (int bits in new[] { 8, 4, 2 }) data.Add(isa, bits);
        return data;
    }

    [Fact]
    public void Eight_bit_planes_are_exactly_the_Q8_0_values()
    {
        var random = new Random(1);
        foreach (var (rows, columns, _) in Shapes)
        {
            var q8 = QuantizedMatrix.Quantize(GgufTensorType.Q8_0, rows, columns, RandomValues(random, rows * columns, 0.5f));
            Assert.Equal(q8.Dequantize(), BitPlaneMatrix.FromQ8_0(q8).Dequantize(8));
        }
    }

    [Fact]
    public void Truncated_reads_are_the_middle_of_the_interval_the_high_bits_leave_open()
    {
        // Every code −127..127 in one row: the 4-bit read is the odd multiple of 8 nearest the code's 16-interval centre.
        var codes = Enumerable.Range(-127, 255).Concat([0]).ToArray(); // 256 values, 8 blocks
        var blocks = new byte[codes.Length / 32 * 34];
        for (int b = 0; b < codes.Length / 32; b++)
        {
            BitConverter.TryWriteBytes(blocks.AsSpan(b * 34), BitConverter.HalfToUInt16Bits((Half)1f));
            for (int i = 0; i < 32; i++) blocks[(b * 34) + 2 + i] = (byte)(sbyte)codes[(b * 32) + i];
        }
        var planes = BitPlaneMatrix.FromQ8_0(QuantizedMatrix.FromGgufBlocks(GgufTensorType.Q8_0, 1, codes.Length, blocks));
        for (int c = 0; c < codes.Length; c++)
        {
            int q = codes[c], o = q + 128;
            Assert.Equal(q, planes.Code(0, c, 8));
            Assert.Equal(((o >> 4) * 16) + 8 - 128, planes.Code(0, c, 4));
            Assert.Equal(((o >> 6) * 64) + 32 - 128, planes.Code(0, c, 2));
            Assert.True(Math.Abs(q - planes.Code(0, c, 4)) <= 8 && Math.Abs(q - planes.Code(0, c, 2)) <= 32);
        }
        // Symmetric grids: no bias towards either sign.
        Assert.Equal(Enumerable.Range(0, 16).Select(u => (16 * u) - 120f), Enumerable.Range(0, 16).Select(u => planes.Code(0, Array.IndexOf(codes, (u * 16) - 128 + 8), 4)));
        Assert.Equal(-planes.Code(0, Array.IndexOf(codes, -127), 2), planes.Code(0, Array.IndexOf(codes, 127), 2));
    }

    [Fact]
    public void A_pass_reads_half_the_code_bytes_at_four_bits_and_a_quarter_at_two()
    {
        var planes = BitPlaneMatrix.FromQ8_0(QuantizedMatrix.Quantize(GgufTensorType.Q8_0, 4, 256, new float[1024]));
        long scales = 4 * 8 * 2, codes = 4 * 256;
        Assert.Equal(codes + scales, planes.BytesRead(8));
        Assert.Equal((codes / 2) + scales, planes.BytesRead(4));
        Assert.Equal((codes / 4) + scales, planes.BytesRead(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => planes.BytesRead(3));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Every_path_and_width_matches_the_scalar_reference_and_the_decoded_product(KernelIsa isa, int bits)
    {
        var random = new Random(5 + bits);
        foreach (var (rows, columns, tokens) in Shapes)
        {
            var planes = BitPlaneMatrix.FromQ8_0(QuantizedMatrix.Quantize(GgufTensorType.Q8_0, rows, columns, RandomValues(random, rows * columns, 0.5f)));
            var activations = new PlaneActivations();
            activations.Quantize(RandomValues(random, tokens * columns, 2f), tokens, columns);
            var output = new float[tokens * rows];
            var reference = new float[tokens * rows];
            int[] rowBits = Enumerable.Repeat(bits, tokens).ToArray();
            PlaneMatMul.Multiply(planes, activations, rowBits, output, isa, threads: 2, rows, 0);
            PlaneMatMul.Multiply(planes, activations, rowBits, reference, KernelIsa.Scalar, threads: 1, rows, 0);
            float[] decoded = planes.Dequantize(bits);
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
                    float got = output[(t * rows) + r];
                    Assert.True(Math.Abs(got - expected) <= 1e-5 * magnitude + 1e-6, $"{isa} {bits}-bit [{rows}x{columns}] token {t} row {r}: {got} vs {expected}");
                    Assert.True(Math.Abs(got - reference[(t * rows) + r]) <= 1e-5 * magnitude + 1e-6, $"{isa} {bits}-bit vs scalar: {got} vs {reference[(t * rows) + r]}");
                }
            }
        }
    }

    [Fact]
    public void Rows_of_mixed_widths_in_one_pass_equal_each_width_run_alone()
    {
        var random = new Random(11);
        const int rows = 48, columns = 224, tokens = 5;
        var planes = BitPlaneMatrix.FromQ8_0(QuantizedMatrix.Quantize(GgufTensorType.Q8_0, rows, columns, RandomValues(random, rows * columns, 0.5f)));
        var activations = new PlaneActivations();
        activations.Quantize(RandomValues(random, tokens * columns, 1f), tokens, columns);
        int[] mixed = [8, 2, 4, 4, 8];
        var together = new float[tokens * rows];
        PlaneMatMul.Multiply(planes, activations, mixed, together, KernelSettings.Best, 2, rows, 0);
        foreach (int bits in new[] { 8, 4, 2 })
        {
            var alone = new float[tokens * rows];
            PlaneMatMul.Multiply(planes, activations, Enumerable.Repeat(bits, tokens).ToArray(), alone, KernelSettings.Best, 2, rows, 0);
            for (int t = 0; t < tokens; t++)
                if (mixed[t] == bits) Assert.Equal(alone.AsSpan(t * rows, rows).ToArray(), together.AsSpan(t * rows, rows).ToArray());
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => PlaneMatMul.Multiply(planes, activations, [8, 8, 3, 8, 8], together, KernelIsa.Scalar, 1, rows, 0));
        Assert.Throws<ArgumentException>(() => PlaneMatMul.Multiply(planes, activations, [8, 8], together, KernelIsa.Scalar, 1, rows, 0));
    }

    [Fact]
    public void A_row_gets_the_same_bits_in_a_four_row_call_as_alone_at_every_width_and_offset()
    {
        // The AVX-512 path takes four weight rows per call; which rows share a call moves with the view's first row and the
        // thread split, so every row must come out bit for bit as alone (ragged super-block tails of 1, 2 and 3 super-blocks
        // included, alone and after whole steps: the tail's activation codes are loaded once for the four rows).
        var random = new Random(23);
        foreach (var (rows, columns) in new[] { (11, 96), (13, 416), (9, 1056), (10, 2048), (7, 64), (9, 736), (6, 384), (5, 896), (6, 2816) })
        {
            var planes = BitPlaneMatrix.FromQ8_0(QuantizedMatrix.Quantize(GgufTensorType.Q8_0, rows, columns, RandomValues(random, rows * columns, 0.5f)));
            var activations = new PlaneActivations();
            activations.Quantize(RandomValues(random, 2 * columns, 1f), 2, columns);
            foreach (var isa in Enum.GetValues<KernelIsa>().Where(KernelSettings.IsSupported))
                foreach (int bits in new[] { 8, 4, 2 })
                {
                    int[] rowBits = [bits, bits];
                    var full = new float[2 * rows];
                    PlaneMatMul.Multiply(planes, activations, rowBits, full, isa, 1, rows, 0);
                    for (int first = 0; first < 4; first++)
                        for (int count = 1; first + count <= rows; count += 3)
                        {
                            var part = new float[2 * count];
                            PlaneMatMul.Multiply(planes.SliceRows(first, count), activations, rowBits, part, isa, 3, count, 0);
                            for (int t = 0; t < 2; t++)
                                Assert.Equal(full.AsSpan((t * rows) + first, count).ToArray(), part.AsSpan(t * count, count).ToArray());
                        }
                }
        }
    }

    [Fact]
    public void The_finite_scale_widening_is_exact_for_every_finite_half()
    {
        if (!System.Runtime.Intrinsics.X86.Avx512BW.IsSupported) return;
        var halves = new ushort[16];
        for (int h = 0; h < 65536; h += 16)
        {
            for (int i = 0; i < 16; i++) halves[i] = (ushort)(h + i);
            var widened = PlaneDot.HalfToSingleFinite(System.Runtime.Intrinsics.Vector256.Create(halves));
            for (int i = 0; i < 16; i++)
                if (((h + i) & 0x7FFF) < 0x7C00)
                    Assert.Equal(BitConverter.SingleToInt32Bits(HalfTable.Values[h + i]), BitConverter.SingleToInt32Bits(widened[i]));
        }
    }

    [Fact]
    public void The_top_plane_is_made_only_for_a_two_bit_pass_and_the_views_share_it()
    {
        var random = new Random(19);
        var planes = BitPlaneMatrix.FromQ8_0(QuantizedMatrix.Quantize(GgufTensorType.Q8_0, 6, 384, RandomValues(random, 6 * 384, 0.5f)));
        long before = planes.ByteSize;
        Assert.Equal(planes.BytesRead(8), before); // both nibble planes and the scales
        var activations = new PlaneActivations();
        activations.Quantize(RandomValues(random, 384, 1f), 1, 384);
        var view = planes.SliceRows(2, 3);
        var viewOutput = new float[3];
        PlaneMatMul.Multiply(view, activations, [2], viewOutput, KernelSettings.Best, 1, 3, 0);
        Assert.Equal(before + (6 * 3 * 32), planes.ByteSize); // a quarter of the codes more, made once for every view
        var output = new float[6];
        PlaneMatMul.Multiply(planes, activations, [2], output, KernelSettings.Best, 1, 6, 0);
        Assert.Equal(output.AsSpan(2, 3).ToArray(), viewOutput);
    }

    [Fact]
    public void Stacked_parts_in_one_pass_equal_each_part_alone_on_every_path()
    {
        var random = new Random(13);
        const int columns = 896, tokens = 3;
        var parts = new[] { 40, 9, 23 }.Select(rows => BitPlaneMatrix.FromQ8_0(QuantizedMatrix.Quantize(GgufTensorType.Q8_0, rows, columns, RandomValues(random, rows * columns, 0.5f)))).ToArray();
        var activations = new PlaneActivations();
        activations.Quantize(RandomValues(random, tokens * columns, 1f), tokens, columns);
        int[] bits = [8, 4, 2];
        foreach (var isa in Enum.GetValues<KernelIsa>().Where(KernelSettings.IsSupported))
            foreach (int threads in new[] { 1, 2, 3 })
            {
                var stacked = new float[tokens * 72];
                PlaneMatMul.Multiply(parts, activations, bits, stacked, isa, threads, 72, 0);
                int offset = 0;
                foreach (var part in parts)
                {
                    var alone = new float[tokens * part.Rows];
                    PlaneMatMul.Multiply(part, activations, bits, alone, isa, 1, part.Rows, 0);
                    for (int t = 0; t < tokens; t++)
                        Assert.Equal(alone.AsSpan(t * part.Rows, part.Rows).ToArray(), stacked.AsSpan((t * 72) + offset, part.Rows).ToArray());
                    offset += part.Rows;
                }
            }
    }

    [Fact]
    public void The_row_path_equals_the_tensor_path_and_each_row_alone()
    {
        var random = new Random(17);
        const int columns = 640, tokens = 3;
        float[] x = RandomValues(random, tokens * columns, 1f);
        using var planes = (BitPlaneLinearWeight)BitPlaneLinearWeight.FromQ8_0(new PackedLinearWeight(
            [QuantizedMatrix.Quantize(GgufTensorType.Q8_0, 24, columns, RandomValues(random, 24 * columns, 0.5f)), QuantizedMatrix.Quantize(GgufTensorType.Q8_0, 8, columns, RandomValues(random, 8 * columns, 0.5f))]));
        using (WeightPrecision.Use([4, 8, 2]))
        {
            var rows = new float[tokens * 32];
            planes.ApplyRows(x, tokens, rows);
            using var input = torch.tensor(x, [tokens, columns]);
            Assert.Equal(TestModels.ToArray(planes.Apply(input)), rows);
            int[] widths = [4, 8, 2];
            for (int t = 0; t < tokens; t++)
            {
                var alone = new float[32];
                using (WeightPrecision.Use([widths[t]])) planes.ApplyRow(x.AsSpan(t * columns, columns), alone);
                Assert.Equal(rows.AsSpan(t * 32, 32).ToArray(), alone);
            }
        }
    }

    [Fact]
    public void The_weight_reads_each_row_at_the_width_of_the_ambient_scope()
    {
        var random = new Random(2);
        var values = RandomValues(random, 40 * 96, 0.5f);
        using var packed = new PackedLinearWeight(QuantizedMatrix.Quantize(GgufTensorType.Q8_0, 40, 96, values));
        float[] eight;
        using (var x = torch.tensor(RandomValues(random, 3 * 96, 1f), [1, 3, 96]))
        {
            eight = TestModels.ToArray(packed.Apply(x));
            using var planes = BitPlaneLinearWeight.FromQ8_0(new PackedLinearWeight(QuantizedMatrix.Quantize(GgufTensorType.Q8_0, 40, 96, values)));
            Assert.IsType<BitPlaneLinearWeight>(planes);
            Assert.True(TestModels.MaxAbsDiff(eight, TestModels.ToArray(planes.Apply(x))) <= 1e-5f); // no scope: 8 bits, the Q8_0 product up to summation order
            float[] mixed;
            using (WeightPrecision.Use([8, 4, 2])) mixed = TestModels.ToArray(planes.Apply(x));
            Assert.True(TestModels.MaxAbsDiff(eight.AsSpan(0, 40).ToArray(), mixed.AsSpan(0, 40).ToArray()) <= 1e-5f);
            Assert.True(TestModels.MaxAbsDiff(eight.AsSpan(40, 40).ToArray(), mixed.AsSpan(40, 40).ToArray()) > 1e-3f);
            float[] four;
            using (WeightPrecision.Use([4, 4, 4])) four = TestModels.ToArray(planes.Apply(x));
            Assert.Equal(four.AsSpan(40, 40).ToArray(), mixed.AsSpan(40, 40).ToArray());
            using (WeightPrecision.Use([8, 8])) Assert.Throws<InvalidOperationException>(() => planes.Apply(x));
        }
    }

    private static float[] RandomValues(Random random, int count, float scale)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)((random.NextDouble() * 2) - 1) * scale;
        return values;
    }
}
