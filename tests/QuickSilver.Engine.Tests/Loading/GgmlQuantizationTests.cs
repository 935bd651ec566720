using System.Buffers.Binary;
using CsCheck;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Tests.Loading;

public sealed class GgmlQuantizationTests
{
    private static readonly Gen<float[]> Blocks =
        Gen.Select(Gen.Float[-1f, 1f].Array[32], Gen.Int[-6, 4], (values, exponent) => values.Select(v => v * MathF.Pow(10, exponent)).ToArray());

    private static float StoredScale(byte[] block) => (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(block));

    [Fact]
    public void Q8_0_ErrorIsAtMostHalfTheStoredScale()
    {
        Blocks.Sample(values =>
        {
            var block = new byte[GgmlQuantization.Q8_0BlockBytes];
            GgmlQuantization.QuantizeQ8_0(values, block);
            var decoded = new float[32];
            GgmlQuantization.DequantizeQ8_0(block, decoded);
            float d = StoredScale(block);
            float amax = values.Max(Math.Abs);
            Assert.True(d >= amax / 127f, $"scale {d} below max/127 {amax / 127f}");
            // ggml rounds with the float scale amax/127 and stores it as a half: code q then also carries |q|·|d − amax/127|.
            float scaleRounding = Math.Abs(d - (amax / 127f));
            for (int i = 0; i < 32; i++)
            {
                float bound = (d / 2) + (Math.Abs((sbyte)block[2 + i]) * scaleRounding);
                Assert.True(Math.Abs(decoded[i] - values[i]) <= bound * (1 + 1e-5f), $"[{i}] {values[i]} -> {decoded[i]}, d {d}");
            }
        }, iter: 500, threads: 1);
    }

    [Fact]
    public void Q4_0_ErrorIsAtMostHalfTheStoredScale_ExceptTheClippedTopCode()
    {
        Blocks.Sample(values =>
        {
            var block = new byte[GgmlQuantization.Q4_0BlockBytes];
            GgmlQuantization.QuantizeQ4_0(values, block);
            var decoded = new float[32];
            GgmlQuantization.DequantizeQ4_0(block, decoded);
            float d = StoredScale(block);
            int extreme = Array.IndexOf(values, values.MaxBy(Math.Abs));
            Assert.True(Math.Abs(decoded[extreme] - values[extreme]) <= Math.Abs(d) / 2 * (1 + 1e-5f), "the extreme value keeps its code −8");
            // The same for the half-stored scale (the float one is max/−8): code q − 8 also carries |q − 8|·|d − max/−8|.
            float scaleRounding = Math.Abs(d - (values[extreme] / -8f));
            for (int i = 0; i < 32; i++)
            {
                float code = d != 0 ? MathF.Round(Math.Abs(decoded[i] / d)) : 0;
                float bound = (d != 0 && values[i] / d > 7.5f ? Math.Abs(d) : Math.Abs(d) / 2) + (code * scaleRounding);
                Assert.True(Math.Abs(decoded[i] - values[i]) <= bound * (1 + 1e-5f), $"[{i}] {values[i]} -> {decoded[i]}, d {d}");
            }
        }, iter: 500, threads: 1);
    }

    [Fact]
    public void Q8_0_KnownBlock_EncodesToHandComputedBytes()
    {
        // max |x| = 127 → d = 1 exactly; codes are the rounded values (half away from zero).
        float[] values = [127f, -127f, 0.5f, -0.5f, 1.49f, 2.5f, .. Enumerable.Repeat(0f, 26)];
        var block = new byte[34];
        GgmlQuantization.QuantizeQ8_0(values, block);
        Assert.Equal(0x3C00, BinaryPrimitives.ReadUInt16LittleEndian(block)); // half 1.0
        Assert.Equal(new sbyte[] { 127, -127, 1, -1, 1, 3 }, block[2..8].Select(b => (sbyte)b).ToArray());
    }

    [Fact]
    public void Q4_0_KnownBlock_EncodesToHandComputedBytes()
    {
        // extreme −8 → d = 1; x = −8 → code 0, x = 7 → 15, x = 0 → 8; low nibbles hold elements 0..15.
        var values = new float[32];
        values[0] = -8f;
        values[1] = 7f;
        values[16] = 3f;
        var block = new byte[18];
        GgmlQuantization.QuantizeQ4_0(values, block);
        Assert.Equal(0x3C00, BinaryPrimitives.ReadUInt16LittleEndian(block));
        Assert.Equal((byte)(0 | (11 << 4)), block[2]); // element 0 code 0, element 16 code 3+8
        Assert.Equal((byte)(15 | (8 << 4)), block[3]); // element 1 code 15, element 17 code 8
        Assert.Equal((byte)(8 | (8 << 4)), block[4]);
    }

    [Fact]
    public void HalfAndBFloat16_ConvertBothWays()
    {
        float[] values = [1f, -2.5f, 65504f, 1e-8f, float.PositiveInfinity];
        var half = new byte[10];
        HalfConversions.SingleToHalf(values, half);
        var back = new float[5];
        HalfConversions.HalfToSingle(half, back);
        Assert.Equal(values.Select(v => (float)(Half)v).ToArray(), back);

        var bf = new byte[10];
        HalfConversions.SingleToBFloat16(values, bf);
        HalfConversions.BFloat16ToSingle(bf, back);
        Assert.Equal([1f, -2.5f, 65536f, back[3], float.PositiveInfinity], back);
        Assert.True(Math.Abs(back[3] - 1e-8f) <= 1e-8f * MathF.Pow(2, -8));
        Assert.Equal(0x3F80, HalfConversions.SingleToBFloat16Bits(1.00390625f)); // tie 1 + 2^-8 rounds to even (1.0)
        Assert.Equal(0x3F82, HalfConversions.SingleToBFloat16Bits(1.01171875f)); // tie 1 + 3·2^-8 rounds to even (1 + 2^-6)
    }
}
