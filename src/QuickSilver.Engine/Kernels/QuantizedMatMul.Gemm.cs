namespace QuickSilver.Engine.Kernels;

/// <summary>
/// The switch to <see cref="QuantizedGemm"/>: a product of at least <see cref="KernelSettings.GemmMinTokens"/> activation
/// rows in a format the GEMM handles, on a SIMD path of a CPU with AVX-512 BW, with <see cref="KernelSettings.MatrixMatrix"/>
/// on. The row count is the caller's segment (a batch of sequences must multiply each sequence's rows on their own to keep
/// a row's result independent of its batch).
/// </summary>
public static unsafe partial class QuantizedMatMul
{
    [ThreadStatic] private static GemmActivations? t_gemmActivations;

    /// <summary>Whether a product of <paramref name="rows"/> activation rows of <paramref name="type"/> weights takes the GEMM.</summary>
    internal static bool UsesGemm(Loading.GgufTensorType type, int rows, KernelIsa isa) =>
        KernelSettings.MatrixMatrix && isa != KernelIsa.Scalar && rows >= KernelSettings.GemmMinTokens
        && QuantizedGemm.IsSupported && QuantizedGemm.Handles(type);

    private static bool TryGemm(QuantizedMatrix weights, Q8Activations activations, Span<float> output, KernelIsa isa, int threads, int outputStride, int outputOffset)
    {
        if (!UsesGemm(weights.Type, activations.Rows, isa) || weights.BlockValues != Q8Activations.BlockSize) return false;
        var laidOut = t_gemmActivations ??= new GemmActivations();
        laidOut.Load(activations);
        fixed (float* y = output) QuantizedGemm.Multiply(weights, laidOut, y + outputOffset, outputStride, threads);
        return true;
    }

    private static bool TryGemm(QuantizedMatrix weights, Q8KActivations activations, Span<float> output, KernelIsa isa, int threads, int outputStride, int outputOffset)
    {
        if (!UsesGemm(weights.Type, activations.Rows, isa) || weights.BlockValues != Q8KActivations.BlockSize) return false;
        var laidOut = t_gemmActivations ??= new GemmActivations();
        laidOut.Load(activations);
        fixed (float* y = output) QuantizedGemm.Multiply(weights, laidOut, y + outputOffset, outputStride, threads);
        return true;
    }
}
