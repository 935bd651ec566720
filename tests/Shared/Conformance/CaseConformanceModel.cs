using QuickSilver.Testing.LlamaCpp;

namespace QuickSilver.Testing.Conformance;

/// <summary>
/// A matrix row for one <see cref="ArchitectureCase"/> at the conformance shape: its GGUF as llama.cpp's converter writes
/// it (<see cref="ArchitectureGgufWriter"/>, role-scaled weights from <see cref="ConformanceWeights"/>) and the config-driven
/// <see cref="Float64Transformer"/> as the reference.
/// </summary>
internal sealed class CaseConformanceModel(ArchitectureCase c) : IConformanceArchitecture
{
    /// <summary>The case this row runs.</summary>
    public ArchitectureCase Case { get; } = c;

    /// <inheritdoc/>
    public string Name => Case.Name;

    /// <inheritdoc/>
    public void WriteGguf(string path) => ArchitectureGgufWriter.Write(Case, ConformanceWeights.Create(Case), path);

    /// <inheritdoc/>
    public double[][] ReferenceLogits(string gguf, IReadOnlyList<int> tokens) => Float64Transformer.Logits(Case, gguf, tokens);

    /// <inheritdoc/>
    public double[][] ReferenceLogitsRoundedLikeLlamaCpp(string gguf, IReadOnlyList<int> tokens) => Float64Transformer.Logits(Case, gguf, tokens, roundLikeLlamaCpp: true);

    /// <summary>
    /// llama.cpp's logits; for a windowed model that llama.cpp runs without its window (Mistral converted as <c>llama</c>),
    /// token by token with every K/V entry older than the window removed from its cache before each step, which is
    /// exactly sliding-window attention (Mistral's own rolling-buffer cache).
    /// </summary>
    public double[][] LlamaCppLogits(string gguf, IReadOnlyList<int> tokens) =>
        ConformanceMetrics.Widen(Case.Config.SlidingWindow > 0 && !Case.LlamaCppAppliesWindow
            ? LlamaCppModel.LogitsWithSlidingWindow(gguf, tokens, Case.Config.SlidingWindow)
            : LlamaCppModel.LogitsAtEveryPosition(gguf, tokens));

    public override string ToString() => Name;
}
