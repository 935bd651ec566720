namespace QuickSilver.Testing.Conformance;

/// <summary>
/// One architecture of the conformance matrix: a random-weight GGUF written with the metadata llama.cpp's converter
/// writes, an independent float64 forward that reads any quantization of that file, and llama.cpp's logits on it.
/// </summary>
/// <remarks>
/// Register an implementation in <see cref="ConformanceArchitectures.All"/>; the CLI's <c>conformance</c> command and
/// the conformance tests then run it against every tensor type. Matrix row lengths must be multiples of 256, or
/// llama-quantize silently falls back to another type for the k-quants (the runner reports the types it really wrote).
/// </remarks>
internal interface IConformanceArchitecture
{
    /// <summary>Row label in the matrix, e.g. "llama2".</summary>
    string Name { get; }

    /// <summary>Writes the F32 GGUF (random weights, fixed seed) that every quantization starts from.</summary>
    /// <param name="path">Destination file.</param>
    void WriteGguf(string path);

    /// <summary>Logits at every position, <c>[position][token]</c>, from a float64 forward on the weights of <paramref name="gguf"/> as llama.cpp decodes them.</summary>
    /// <param name="gguf">The F32 file or any quantization of it.</param>
    /// <param name="tokens">Token ids at positions 0..n-1.</param>
    double[][] ReferenceLogits(string gguf, IReadOnlyList<int> tokens);

    /// <summary>
    /// The same float64 forward with every matmul input rounded as llama.cpp's CPU kernels round it for the weight's type
    /// (see <see cref="LlamaCppActivations"/>), or null when the architecture does not provide it. It shows how much of
    /// llama.cpp's distance from the exact logits is its activation rounding.
    /// </summary>
    double[][]? ReferenceLogitsRoundedLikeLlamaCpp(string gguf, IReadOnlyList<int> tokens) => null;

    /// <summary>llama.cpp's logits at every position on <paramref name="gguf"/>, run so that it computes this architecture.</summary>
    double[][] LlamaCppLogits(string gguf, IReadOnlyList<int> tokens) =>
        ConformanceMetrics.Widen(QuickSilver.Testing.LlamaCpp.LlamaCppModel.LogitsAtEveryPosition(gguf, tokens));
}
