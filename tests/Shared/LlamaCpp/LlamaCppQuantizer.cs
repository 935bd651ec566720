using LLama.Native;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Testing.LlamaCpp;

/// <summary>
/// llama-quantize through LLamaSharp (<c>llama_model_quantize</c>): a GGUF to a llama.cpp file type ("mix"), or with
/// every matrix in one tensor type.
/// </summary>
/// <remarks>
/// A mix (<see cref="QuantizeMix"/>) is what users download: e.g. <c>MOSTLY_Q4_K_M</c> puts Q6_K in output.weight and in
/// half of the attn_v / ffn_down tensors, and even <c>MOSTLY_Q4_0</c> writes output.weight as Q6_K. A pure file
/// (<see cref="QuantizePure"/>) sets llama.cpp's <c>pure</c> flag and forces token_embd/output to the same type, so a test
/// exercises exactly one block type. Row lengths must be multiples of the type's block (256 for k-quants), else
/// llama.cpp silently falls back to another type: callers should check the result's tensor types
/// (<see cref="TensorTypes"/>). 1-D tensors (norms) stay F32 in every case.
/// </remarks>
internal static class LlamaCppQuantizer
{
    /// <summary>Quantizes <paramref name="source"/> to llama.cpp's <paramref name="fileType"/> mix.</summary>
    public static void QuantizeMix(string source, string destination, LLamaFtype fileType, int threads = 2) =>
        Run(source, destination, fileType, pure: false, forcedType: null, threads);

    /// <summary>Quantizes every matrix of <paramref name="source"/> (token_embd and output included) to <paramref name="type"/>.</summary>
    public static void QuantizePure(string source, string destination, GgufTensorType type, int threads = 2) =>
        Run(source, destination, FileTypeOf(type), pure: true, forcedType: type, threads);

    /// <summary>The tensor types in a GGUF, by name (to check what llama.cpp wrote).</summary>
    public static IReadOnlyDictionary<string, GgufTensorType> TensorTypes(string gguf) =>
        GgufFile.Read(gguf).Tensors.ToDictionary(t => t.Name, t => t.Type, StringComparer.Ordinal);

    /// <summary>The llama.cpp file type whose main tensor type is <paramref name="type"/>.</summary>
    public static LLamaFtype FileTypeOf(GgufTensorType type) => type switch
    {
        GgufTensorType.F32 => LLamaFtype.ALL_F32,
        GgufTensorType.F16 => LLamaFtype.MOSTLY_F16,
        GgufTensorType.BF16 => LLamaFtype.MOSTLY_BF16,
        GgufTensorType.Q4_0 => LLamaFtype.MOSTLY_Q4_0,
        GgufTensorType.Q4_1 => LLamaFtype.MOSTLY_Q4_1,
        GgufTensorType.Q5_0 => LLamaFtype.MOSTLY_Q5_0,
        GgufTensorType.Q5_1 => LLamaFtype.MOSTLY_Q5_1,
        GgufTensorType.Q8_0 => LLamaFtype.MOSTLY_Q8_0,
        GgufTensorType.Q2_K => LLamaFtype.MOSTLY_Q2_K,
        GgufTensorType.Q3_K => LLamaFtype.MOSTLY_Q3_K_M,
        GgufTensorType.Q4_K => LLamaFtype.MOSTLY_Q4_K_M,
        GgufTensorType.Q5_K => LLamaFtype.MOSTLY_Q5_K_M,
        GgufTensorType.Q6_K => LLamaFtype.MOSTLY_Q6_K,
        GgufTensorType.IQ4_NL => LLamaFtype.MOSTLY_IQ4_NL,
        GgufTensorType.IQ4_XS => LLamaFtype.MOSTLY_IQ4_XS,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "No llama.cpp file type maps to this tensor type here."),
    };

    private static void Run(string source, string destination, LLamaFtype fileType, bool pure, GgufTensorType? forcedType, int threads)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentException.ThrowIfNullOrEmpty(destination);
        LlamaCppRuntime.EnsureLoaded();
        lock (LlamaCppRuntime.Gate)
        {
            LlamaCppRuntime.ClearLog();
            LLamaModelQuantizeParams parameters = LLamaModelQuantizeParams.Default();
            parameters.nthread = threads;
            parameters.ftype = fileType;
            parameters.pure = pure;
            if (forcedType is { } type)
            {
                parameters.output_tensor_type = (GGMLType)(int)type;
                parameters.token_embedding_type = (GGMLType)(int)type;
            }
            uint status = NativeApi.llama_model_quantize(source, destination, ref parameters);
            if (status != 0 || !File.Exists(destination))
                throw new InvalidOperationException($"llama_model_quantize({source} → {fileType}{(pure ? ", pure" : "")}) returned {status}.{Environment.NewLine}{LlamaCppRuntime.RecentLog}");
        }
    }
}
