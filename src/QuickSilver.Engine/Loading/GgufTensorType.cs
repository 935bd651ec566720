namespace QuickSilver.Engine.Loading;

/// <summary>ggml tensor element types (the on-disk codes). The loaders decode the types in <see cref="QuickSilver.Engine.Quantization.BlockFormats.SupportedTypes"/> and refuse the others by name.</summary>
#pragma warning disable CA1707 // ggml spells these with underscores; matching them keeps the mapping obvious.
public enum GgufTensorType : uint
{
    /// <summary>float32</summary>
    F32 = 0,
    /// <summary>IEEE half</summary>
    F16 = 1,
    /// <summary>32-value blocks: f16 scale + 16 bytes of 4-bit codes</summary>
    Q4_0 = 2,
    /// <summary>32-value blocks: f16 scale and min + 4-bit codes</summary>
    Q4_1 = 3,
    /// <summary>5-bit blocks</summary>
    Q5_0 = 6,
    /// <summary>5-bit blocks with min</summary>
    Q5_1 = 7,
    /// <summary>32-value blocks: f16 scale + 32 int8</summary>
    Q8_0 = 8,
    /// <summary>8-bit blocks with sum</summary>
    Q8_1 = 9,
    /// <summary>k-quant 2-bit</summary>
    Q2_K = 10,
    /// <summary>k-quant 3-bit</summary>
    Q3_K = 11,
    /// <summary>k-quant 4-bit</summary>
    Q4_K = 12,
    /// <summary>k-quant 5-bit</summary>
    Q5_K = 13,
    /// <summary>k-quant 6-bit</summary>
    Q6_K = 14,
    /// <summary>k-quant 8-bit</summary>
    Q8_K = 15,
    /// <summary>i-quant</summary>
    IQ2_XXS = 16,
    /// <summary>i-quant</summary>
    IQ2_XS = 17,
    /// <summary>i-quant</summary>
    IQ3_XXS = 18,
    /// <summary>i-quant</summary>
    IQ1_S = 19,
    /// <summary>i-quant</summary>
    IQ4_NL = 20,
    /// <summary>i-quant</summary>
    IQ3_S = 21,
    /// <summary>i-quant</summary>
    IQ2_S = 22,
    /// <summary>i-quant</summary>
    IQ4_XS = 23,
    /// <summary>int8</summary>
    I8 = 24,
    /// <summary>int16</summary>
    I16 = 25,
    /// <summary>int32</summary>
    I32 = 26,
    /// <summary>int64</summary>
    I64 = 27,
    /// <summary>float64</summary>
    F64 = 28,
    /// <summary>i-quant</summary>
    IQ1_M = 29,
    /// <summary>bfloat16</summary>
    BF16 = 30,
}
#pragma warning restore CA1707
