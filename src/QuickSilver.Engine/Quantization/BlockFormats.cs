using System.Collections.Frozen;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Quantization;

/// <summary>The tensor types the engine decodes, one <see cref="BlockFormat"/> per type. Any other type is refused by the loaders.</summary>
/// <remarks>
/// Q8_K is not a file type: llama.cpp uses it only for activations inside k-quant dot products and has no decoder for it
/// in ggml-base, so <see cref="BlockQ8_K"/> exists for kernels but files holding it are refused like any other type.
/// </remarks>
public static class BlockFormats
{
    private static readonly FrozenDictionary<GgufTensorType, BlockFormat> ByType = new BlockFormat[]
    {
        new(GgufTensorType.F32, 1, 4, PlainFloats.DecodeF32),
        new(GgufTensorType.F16, 1, 2, PlainFloats.DecodeF16),
        new(GgufTensorType.BF16, 1, 2, PlainFloats.DecodeBF16),
        new(GgufTensorType.Q4_0, BlockQ4_0.Values, BlockQ4_0.Bytes, BlockQ4_0.Decode),
        new(GgufTensorType.Q4_1, BlockQ4_1.Values, BlockQ4_1.Bytes, BlockQ4_1.Decode),
        new(GgufTensorType.Q5_0, BlockQ5_0.Values, BlockQ5_0.Bytes, BlockQ5_0.Decode),
        new(GgufTensorType.Q5_1, BlockQ5_1.Values, BlockQ5_1.Bytes, BlockQ5_1.Decode),
        new(GgufTensorType.Q8_0, BlockQ8_0.Values, BlockQ8_0.Bytes, BlockQ8_0.Decode),
        new(GgufTensorType.Q2_K, BlockQ2_K.Values, BlockQ2_K.Bytes, BlockQ2_K.Decode),
        new(GgufTensorType.Q3_K, BlockQ3_K.Values, BlockQ3_K.Bytes, BlockQ3_K.Decode),
        new(GgufTensorType.Q4_K, BlockQ4_K.Values, BlockQ4_K.Bytes, BlockQ4_K.Decode),
        new(GgufTensorType.Q5_K, BlockQ5_K.Values, BlockQ5_K.Bytes, BlockQ5_K.Decode),
        new(GgufTensorType.Q6_K, BlockQ6_K.Values, BlockQ6_K.Bytes, BlockQ6_K.Decode),
        new(GgufTensorType.IQ4_NL, BlockIQ4_NL.Values, BlockIQ4_NL.Bytes, BlockIQ4_NL.Decode),
        new(GgufTensorType.IQ4_XS, BlockIQ4_XS.Values, BlockIQ4_XS.Bytes, BlockIQ4_XS.Decode),
    }.ToFrozenDictionary(f => f.Type);

    /// <summary>Every supported type, in type-code order.</summary>
    public static IReadOnlyList<GgufTensorType> SupportedTypes { get; } = [.. ByType.Keys.Order()];

    /// <summary>The format of <paramref name="type"/>, or false when the engine cannot decode it.</summary>
    public static bool TryGet(GgufTensorType type, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out BlockFormat? format) =>
        ByType.TryGetValue(type, out format);

    /// <summary>The format of <paramref name="type"/>.</summary>
    /// <exception cref="NotSupportedException">The engine cannot decode <paramref name="type"/>.</exception>
    public static BlockFormat Get(GgufTensorType type) =>
        TryGet(type, out BlockFormat? format) ? format : throw new NotSupportedException($"Tensor type {Describe(type)} is not supported; supported: {SupportedList}.");

    /// <summary>The supported types as a readable list ("F32, F16, ...").</summary>
    public static string SupportedList { get; } = string.Join(", ", SupportedTypes);

    /// <summary>"Q4_K (12)" for a known code, "unknown ggml type 99" otherwise.</summary>
    public static string Describe(GgufTensorType type) =>
        Enum.IsDefined(type) ? $"{type} ({(uint)type})" : $"unknown ggml type {(uint)type}";
}
