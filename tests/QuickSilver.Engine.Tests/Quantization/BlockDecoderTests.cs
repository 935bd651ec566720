using System.Buffers.Binary;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Quantization;
using QuickSilver.Testing.LlamaCpp;

namespace QuickSilver.Engine.Tests.Quantization;

/// <summary>Every block decoder against llama.cpp's own <c>to_float</c> on the same bytes, bit for bit.</summary>
public sealed class BlockDecoderTests
{
    /// <summary>Byte offsets of the f16 scale fields per block (random bytes there could be NaN/Inf, which no file holds).</summary>
    private static readonly Dictionary<GgufTensorType, int[]> HalfFields = new()
    {
        [GgufTensorType.Q4_0] = [0],
        [GgufTensorType.Q4_1] = [0, 2],
        [GgufTensorType.Q5_0] = [0],
        [GgufTensorType.Q5_1] = [0, 2],
        [GgufTensorType.Q8_0] = [0],
        [GgufTensorType.Q2_K] = [80, 82],
        [GgufTensorType.Q3_K] = [108],
        [GgufTensorType.Q4_K] = [0, 2],
        [GgufTensorType.Q5_K] = [0, 2],
        [GgufTensorType.Q6_K] = [208],
        [GgufTensorType.IQ4_NL] = [0],
        [GgufTensorType.IQ4_XS] = [0],
    };

    /// <summary>Zero, subnormals, the smallest normal, one, the largest half, and their negatives.</summary>
    private static readonly ushort[] EdgeHalves = [0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x3C00, 0x7BFF, 0x8001, 0xBC00, 0xFBFF, 0x1400, 0x2E66];

    public static TheoryData<GgufTensorType> QuantizedTypes() => [.. HalfFields.Keys];

    public static TheoryData<GgufTensorType> AllTypes() => [.. BlockFormats.SupportedTypes];

    [Fact]
    public void The_supported_types_are_exactly_the_ones_the_issue_lists()
    {
        GgufTensorType[] expected =
        [
            GgufTensorType.F32, GgufTensorType.F16, GgufTensorType.Q4_0, GgufTensorType.Q4_1, GgufTensorType.Q5_0, GgufTensorType.Q5_1,
            GgufTensorType.Q8_0, GgufTensorType.Q2_K, GgufTensorType.Q3_K, GgufTensorType.Q4_K, GgufTensorType.Q5_K, GgufTensorType.Q6_K,
            GgufTensorType.IQ4_NL, GgufTensorType.IQ4_XS, GgufTensorType.BF16,
        ];
        Assert.Equal(expected, BlockFormats.SupportedTypes);
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Block_size_and_bytes_agree_with_ggml(GgufTensorType type)
    {
        BlockFormat format = BlockFormats.Get(type);
        Assert.Equal(GgmlReference.BlockSize(type), format.BlockValues);
        Assert.Equal(GgmlReference.TypeSize(type), format.BlockBytes);
    }

    [Theory]
    [MemberData(nameof(QuantizedTypes))]
    public void Random_bytes_with_edge_scales_decode_as_ggml_decodes_them(GgufTensorType type)
    {
        BlockFormat format = BlockFormats.Get(type);
        var random = new Random((int)type * 7919);
        const int Blocks = 64;
        var bytes = new byte[Blocks * format.BlockBytes];
        random.NextBytes(bytes);
        for (int b = 0; b < Blocks; b++)
        {
            foreach (int field in HalfFields[type])
            {
                // First blocks walk the edge scales; the rest get random finite halves.
                ushort half = b < EdgeHalves.Length ? EdgeHalves[(b + field) % EdgeHalves.Length] : RandomFiniteHalf(random);
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan((b * format.BlockBytes) + field), half);
            }
        }
        AssertSameAsGgml(type, bytes);
    }

    [Theory]
    [MemberData(nameof(QuantizedTypes))]
    public void Blocks_llama_cpp_quantized_decode_as_ggml_decodes_them(GgufTensorType type)
    {
        BlockFormat format = BlockFormats.Get(type);
        int row = Math.Max(256, format.BlockValues);
        var values = new List<float>();
        var random = new Random(11 + (int)type);
        foreach (float scale in new[] { 1f, 1e-3f, 30f, 1e-6f })
            for (int i = 0; i < row; i++) values.Add((float)((random.NextDouble() * 2) - 1) * scale);
        values.AddRange(Enumerable.Repeat(0f, row));                           // all-zero blocks: zero scales
        values.AddRange(Enumerable.Repeat(0.25f, row));                        // constant blocks: min-only k-quants
        values.AddRange(Enumerable.Range(0, row).Select(i => i % 17 == 0 ? 100f : 0.01f * (i % 5))); // one outlier per few
        byte[] bytes = GgmlReference.Quantize(type, values.ToArray(), row);
        AssertSameAsGgml(type, bytes);
    }

    [Fact]
    public void Q8_K_decodes_code_times_f32_scale()
    {
        // ggml-base has neither to_float nor a reference quantizer for Q8_K (an activation-only format of ggml-cpu),
        // so the oracle here is the definition: float32 d, then 256 int8 codes, then 16 int16 sums that decoding ignores.
        var bytes = new byte[2 * BlockQ8_K.Bytes];
        float[] scales = [0.0123f, -3.5f];
        for (int b = 0; b < 2; b++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(b * BlockQ8_K.Bytes), scales[b]);
            for (int j = 0; j < 256; j++) bytes[(b * BlockQ8_K.Bytes) + 4 + j] = (byte)(j - 128 + b);
            bytes.AsSpan((b * BlockQ8_K.Bytes) + 260, 32).Fill(0xAB);
        }
        var ours = new float[512];
        BlockQ8_K.Decode(bytes, ours);
        for (int i = 0; i < 512; i++) Assert.Equal(scales[i / 256] * (sbyte)(byte)((i % 256) - 128 + (i / 256)), ours[i]);
    }

    [Theory]
    [InlineData(GgufTensorType.F32)]
    [InlineData(GgufTensorType.F16)]
    [InlineData(GgufTensorType.BF16)]
    public void Plain_floats_decode_as_ggml_decodes_them(GgufTensorType type)
    {
        BlockFormat format = BlockFormats.Get(type);
        var random = new Random(3);
        var bytes = new byte[512 * format.BlockBytes];
        for (int i = 0; i < 512; i++)
        {
            Span<byte> at = bytes.AsSpan(i * format.BlockBytes);
            float value = (float)((random.NextDouble() * 2) - 1) * MathF.Pow(10, random.Next(-8, 5));
            if (type == GgufTensorType.F32) BinaryPrimitives.WriteSingleLittleEndian(at, value);
            else if (type == GgufTensorType.F16) BinaryPrimitives.WriteUInt16LittleEndian(at, i < EdgeHalves.Length ? EdgeHalves[i] : RandomFiniteHalf(random));
            else BinaryPrimitives.WriteUInt16LittleEndian(at, HalfConversions.SingleToBFloat16Bits(value));
        }
        AssertSameAsGgml(type, bytes);
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Mismatched_lengths_are_refused(GgufTensorType type)
    {
        BlockFormat format = BlockFormats.Get(type);
        var bytes = new byte[2 * format.BlockBytes];
        Assert.Throws<ArgumentException>(() => format.Decode(bytes, new float[format.BlockValues]));
        Assert.Throws<ArgumentException>(() => format.DecodeChecked(bytes.AsSpan(1), new float[2 * format.BlockValues]));
        if (format.BlockValues > 1) Assert.Throws<ArgumentException>(() => format.Decode(bytes, new float[(2 * format.BlockValues) - 1]));
    }

    private static void AssertSameAsGgml(GgufTensorType type, byte[] bytes)
    {
        BlockFormat format = BlockFormats.Get(type);
        float[] theirs = type == GgufTensorType.F32 // ggml has no to_float for F32: it is the identity
            ? [.. Enumerable.Range(0, bytes.Length / 4).Select(i => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4 * i)))]
            : GgmlReference.Dequantize(type, bytes);
        var ours = new float[theirs.Length];
        format.DecodeChecked(bytes, ours);
        for (int i = 0; i < ours.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(ours[i]) != BitConverter.SingleToInt32Bits(theirs[i]) && !(ours[i] == 0 && theirs[i] == 0))
                Assert.Fail($"{type} block {i / format.BlockValues}, element {i % format.BlockValues}: ours {ours[i]:R}, llama.cpp {theirs[i]:R}");
        }
    }

    private static ushort RandomFiniteHalf(Random random)
    {
        // Exponent field 0..30 (31 is Inf/NaN), any sign and mantissa; weighted toward realistic weight scales.
        int exponent = random.Next(4) == 0 ? random.Next(0, 31) : random.Next(5, 16);
        return (ushort)((random.Next(2) << 15) | (exponent << 10) | random.Next(1024));
    }
}
