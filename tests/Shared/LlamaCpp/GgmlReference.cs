using System.Runtime.InteropServices;
using QuickSilver.Engine.Loading;

namespace QuickSilver.Testing.LlamaCpp;

/// <summary>
/// llama.cpp's own block codecs, called in its ggml base library, as the oracle our decoders (and every fast kernel)
/// are tested against: "what does llama.cpp make of these bytes" and "which bytes does llama.cpp write for these floats".
/// </summary>
/// <remarks>
/// <para>
/// The library is the <c>libggml-base.so</c> that LLamaSharp.Backend.Cpu 0.30 ships under
/// <c>runtimes/linux-x64/native/{avx512,avx2,avx,noavx}/</c> (copied beside the test binaries). LLamaSharp picks the
/// variant for this CPU (it picks avx2 on this repository's AVX-512 machines) and loads it as a dependency of <c>libllama.so</c>;
/// <see cref="GgmlLibrary"/> opens that very file, so quantized bytes and logits come from one copy of ggml.
/// </para>
/// <para>Exported symbols used (checked with <c>nm -D --defined-only libggml-base.so</c>):</para>
/// <list type="bullet">
/// <item><c>const struct ggml_type_traits * ggml_get_type_traits(enum ggml_type)</c>: the per-type table whose
/// <c>to_float</c> is the reference dequantizer (<c>dequantize_row_*</c> in ggml-quants.c) and whose
/// <c>from_float_ref</c> is the reference quantizer (<c>quantize_row_*_ref</c>).</item>
/// <item><c>size_t ggml_quantize_chunk(type, const float * src, void * dst, int64_t start, int64_t nrows,
/// int64_t n_per_row, const float * imatrix)</c>: what llama-quantize calls per tensor (it may search scales
/// harder than <c>from_float_ref</c>, e.g. k-quants' <c>quantize_q4_K</c> → <c>quantize_row_q4_K_impl</c>).</item>
/// <item><c>ggml_blck_size</c>, <c>ggml_type_size</c>, <c>ggml_row_size</c>, <c>ggml_type_name</c>,
/// <c>ggml_quantize_requires_imatrix</c>.</item>
/// </list>
/// <para>
/// <c>struct ggml_type_traits</c> is read by offset: <c>{ const char * type_name; int64_t blck_size;
/// int64_t blck_size_interleave; size_t type_size; bool is_quantized; ggml_to_float_t to_float;
/// ggml_from_float_t from_float_ref; }</c> (ggml.h). The layout is checked against <c>ggml_blck_size</c> and
/// <c>ggml_type_size</c> on every lookup, so a different ggml fails loudly instead of calling a wrong pointer.
/// </para>
/// </remarks>
internal static unsafe class GgmlReference
{
    // Offsets in struct ggml_type_traits on 64-bit targets.
    private const int TraitsBlockSizeOffset = 8;
    private const int TraitsTypeSizeOffset = 24;
    private const int TraitsToFloatOffset = 40;
    private const int TraitsFromFloatRefOffset = 48;

    private static readonly Lazy<Api> Native = new(() => new Api(GgmlLibrary.Handle));

    /// <summary>The ggml base library file in use.</summary>
    public static string LibraryPath => GgmlLibrary.Path;

    /// <summary>Values per block of <paramref name="type"/> (1 for plain float types).</summary>
    public static int BlockSize(GgufTensorType type) => checked((int)Native.Value.BlockSize((int)type));

    /// <summary>Bytes per block of <paramref name="type"/>.</summary>
    public static int TypeSize(GgufTensorType type) => checked((int)Native.Value.TypeSize((int)type));

    /// <summary>Bytes of one row of <paramref name="values"/> elements.</summary>
    public static long RowSize(GgufTensorType type, long values) => (long)Native.Value.RowSize((int)type, values);

    /// <summary>ggml's own name of the type ("q4_K", "iq4_xs", ...).</summary>
    public static string TypeName(GgufTensorType type) => Marshal.PtrToStringUTF8(Native.Value.TypeName((int)type)) ?? "?";

    /// <summary>True when ggml refuses to quantize the type without an importance matrix (IQ2_XXS, IQ1_S, ...).</summary>
    public static bool RequiresImportanceMatrix(GgufTensorType type) => Native.Value.RequiresImatrix((int)type) != 0;

    /// <summary>llama.cpp's decode of whole blocks (<c>type_traits[type].to_float</c>).</summary>
    /// <param name="type">Block type.</param>
    /// <param name="blocks">Whole blocks of <paramref name="type"/>.</param>
    /// <returns><c>blocks.Length / TypeSize × BlockSize</c> floats.</returns>
    public static float[] Dequantize(GgufTensorType type, ReadOnlySpan<byte> blocks)
    {
        (int blockValues, int blockBytes, IntPtr toFloat, _) = Traits(type);
        if (toFloat == IntPtr.Zero) throw new NotSupportedException($"ggml has no to_float for {type}.");
        if (blocks.Length % blockBytes != 0)
            throw new ArgumentException($"{blocks.Length} bytes is not a whole number of {blockBytes}-byte {type} blocks.", nameof(blocks));
        var result = new float[(long)blocks.Length / blockBytes * blockValues];
        fixed (byte* source = blocks)
        fixed (float* destination = result)
        {
            ((delegate* unmanaged[Cdecl]<void*, float*, long, void>)toFloat)(source, destination, result.Length);
        }
        return result;
    }

    /// <summary>
    /// llama.cpp's quantization of whole rows as llama-quantize does it (<c>ggml_quantize_chunk</c>), optionally with an
    /// importance matrix (one weight per column).
    /// </summary>
    /// <param name="type">Target type.</param>
    /// <param name="values">Row-major values, <paramref name="rowLength"/> per row.</param>
    /// <param name="rowLength">A multiple of the type's block size.</param>
    /// <param name="importance">Empty, or <paramref name="rowLength"/> non-negative weights.</param>
    public static byte[] Quantize(GgufTensorType type, ReadOnlySpan<float> values, int rowLength, ReadOnlySpan<float> importance = default)
    {
        int blockValues = BlockSize(type);
        if (rowLength <= 0 || rowLength % blockValues != 0)
            throw new ArgumentException($"Row length {rowLength} is not a positive multiple of {type}'s block size {blockValues}.", nameof(rowLength));
        if (values.Length % rowLength != 0)
            throw new ArgumentException($"{values.Length} values is not a whole number of rows of {rowLength}.", nameof(values));
        if (!importance.IsEmpty && importance.Length != rowLength)
            throw new ArgumentException($"The importance matrix needs {rowLength} weights, got {importance.Length}.", nameof(importance));
        if (importance.IsEmpty && RequiresImportanceMatrix(type))
            throw new ArgumentException($"ggml quantizes {type} only with an importance matrix.", nameof(importance));
        long rows = values.Length / rowLength;
        var result = new byte[RowSize(type, rowLength) * rows];
        fixed (float* source = values)
        fixed (float* weights = importance)
        fixed (byte* destination = result)
        {
            ulong written = Native.Value.QuantizeChunk((int)type, source, destination, 0, rows, rowLength, importance.IsEmpty ? null : weights);
            if ((long)written != result.Length)
                throw new InvalidOperationException($"ggml_quantize_chunk wrote {written} bytes, expected {result.Length}.");
        }
        return result;
    }

    /// <summary>llama.cpp's reference quantizer (<c>type_traits[type].from_float_ref</c>, the <c>quantize_row_*_ref</c> functions).</summary>
    /// <param name="type">Target type.</param>
    /// <param name="values">A whole number of blocks.</param>
    public static byte[] QuantizeReference(GgufTensorType type, ReadOnlySpan<float> values)
    {
        (int blockValues, int blockBytes, _, IntPtr fromFloat) = Traits(type);
        if (fromFloat == IntPtr.Zero) throw new NotSupportedException($"ggml has no reference quantizer for {type}.");
        if (values.Length % blockValues != 0)
            throw new ArgumentException($"{values.Length} values is not a whole number of {blockValues}-value {type} blocks.", nameof(values));
        var result = new byte[(long)values.Length / blockValues * blockBytes];
        fixed (float* source = values)
        fixed (byte* destination = result)
        {
            ((delegate* unmanaged[Cdecl]<float*, void*, long, void>)fromFloat)(source, destination, values.Length);
        }
        return result;
    }

    private static (int BlockValues, int BlockBytes, IntPtr ToFloat, IntPtr FromFloatRef) Traits(GgufTensorType type)
    {
        Api api = Native.Value;
        byte* traits = (byte*)api.GetTypeTraits((int)type);
        if (traits == null) throw new NotSupportedException($"ggml has no traits for type {(int)type}.");
        long blockValues = *(long*)(traits + TraitsBlockSizeOffset);
        ulong blockBytes = *(ulong*)(traits + TraitsTypeSizeOffset);
        if (blockValues != api.BlockSize((int)type) || blockBytes != api.TypeSize((int)type))
            throw new InvalidOperationException(
                $"struct ggml_type_traits in {GgmlLibrary.Path} does not have the expected layout (blck_size {blockValues} vs {api.BlockSize((int)type)}).");
        return ((int)blockValues, (int)blockBytes, *(IntPtr*)(traits + TraitsToFloatOffset), *(IntPtr*)(traits + TraitsFromFloatRefOffset));
    }

    /// <summary>Function pointers resolved once from the library handle.</summary>
    private sealed class Api(IntPtr library)
    {
        public readonly delegate* unmanaged[Cdecl]<int, void*> GetTypeTraits =
            (delegate* unmanaged[Cdecl]<int, void*>)NativeLibrary.GetExport(library, "ggml_get_type_traits");
        public readonly delegate* unmanaged[Cdecl]<int, long> BlockSize =
            (delegate* unmanaged[Cdecl]<int, long>)NativeLibrary.GetExport(library, "ggml_blck_size");
        public readonly delegate* unmanaged[Cdecl]<int, ulong> TypeSize =
            (delegate* unmanaged[Cdecl]<int, ulong>)NativeLibrary.GetExport(library, "ggml_type_size");
        public readonly delegate* unmanaged[Cdecl]<int, long, ulong> RowSize =
            (delegate* unmanaged[Cdecl]<int, long, ulong>)NativeLibrary.GetExport(library, "ggml_row_size");
        public readonly delegate* unmanaged[Cdecl]<int, IntPtr> TypeName =
            (delegate* unmanaged[Cdecl]<int, IntPtr>)NativeLibrary.GetExport(library, "ggml_type_name");
        public readonly delegate* unmanaged[Cdecl]<int, byte> RequiresImatrix =
            (delegate* unmanaged[Cdecl]<int, byte>)NativeLibrary.GetExport(library, "ggml_quantize_requires_imatrix");
        public readonly delegate* unmanaged[Cdecl]<int, float*, void*, long, long, long, float*, ulong> QuantizeChunk =
            (delegate* unmanaged[Cdecl]<int, float*, void*, long, long, long, float*, ulong>)NativeLibrary.GetExport(library, "ggml_quantize_chunk");
    }
}
