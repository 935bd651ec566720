using QuickSilver.Engine.Loading;
using QuickSilver.Testing.LlamaCpp;

namespace QuickSilver.Testing.Conformance;

/// <summary>
/// The rounding llama.cpp's CPU matmuls apply to their activations, by weight type (the weight type's
/// <c>vec_dot_type</c> in ggml-cpu): Q8_0 blocks for the 32-value quants (Q8_1 for Q4_1/Q5_1 rounds the same values),
/// Q8_K blocks for the k-quants and IQ4_XS, f16 for F16 and bf16 for BF16; F32 is used as is. A float64 forward that
/// rounds its matmul inputs this way reproduces llama.cpp's numerics and shows where its logits differ from the exact ones.
/// </summary>
internal static class LlamaCppActivations
{
    /// <summary>The activations <paramref name="x"/> as a matmul against a <paramref name="weightType"/> weight sees them.</summary>
    public static double[] Round(double[] x, GgufTensorType weightType)
    {
        float[] values = [.. x.Select(v => (float)v)];
        float[] rounded = weightType switch
        {
            GgufTensorType.F32 => values,
            GgufTensorType.F16 => [.. values.Select(v => (float)(Half)v)],
            GgufTensorType.BF16 => [.. values.Select(v => BitConverter.Int32BitsToSingle(HalfConversions.SingleToBFloat16Bits(v) << 16))],
            GgufTensorType.Q4_0 or GgufTensorType.Q4_1 or GgufTensorType.Q5_0 or GgufTensorType.Q5_1 or GgufTensorType.Q8_0 or GgufTensorType.IQ4_NL =>
                GgmlReference.Dequantize(GgufTensorType.Q8_0, GgmlReference.QuantizeReference(GgufTensorType.Q8_0, values)),
            GgufTensorType.Q2_K or GgufTensorType.Q3_K or GgufTensorType.Q4_K or GgufTensorType.Q5_K or GgufTensorType.Q6_K or GgufTensorType.IQ4_XS =>
                RoundQ8_K(values),
            _ => throw new NotSupportedException($"No activation rounding known for weights of type {weightType}."),
        };
        return [.. rounded.Select(v => (double)v)];
    }

    /// <summary>
    /// ggml's <c>quantize_row_q8_K</c> (not exported by ggml-base): per 256 values, the signed value of largest magnitude
    /// maps to −127, codes are round-half-even and clipped at 127, and the float32 scale is the inverse of that mapping.
    /// </summary>
    private static float[] RoundQ8_K(float[] x)
    {
        if (x.Length % 256 != 0) throw new ArgumentException($"{x.Length} activations are not whole Q8_K blocks of 256.", nameof(x));
        var result = new float[x.Length];
        for (int b = 0; b < x.Length; b += 256)
        {
            float max = 0, amax = 0;
            for (int j = b; j < b + 256; j++)
            {
                float ax = Math.Abs(x[j]);
                if (ax > amax)
                {
                    amax = ax;
                    max = x[j];
                }
            }
            if (amax == 0) continue;
            float iscale = -127f / max;
            float d = 1 / iscale;
            for (int j = b; j < b + 256; j++) result[j] = Math.Min(127f, MathF.Round(iscale * x[j])) * d;
        }
        return result;
    }
}
