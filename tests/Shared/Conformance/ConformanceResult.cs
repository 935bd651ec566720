namespace QuickSilver.Testing.Conformance;

/// <summary>One cell of the conformance matrix: one architecture in one tensor type (or mix), measured in one run.</summary>
/// <param name="Architecture">Matrix row.</param>
/// <param name="Variant">Matrix column (type or mix).</param>
/// <param name="TensorTypes">The types llama-quantize really wrote, with counts ("Q4_K×9, Q6_K×5, F32×5").</param>
/// <param name="Loads">Whether QuickSilver loaded the file.</param>
/// <param name="Error">The load error, when it did not.</param>
/// <param name="Positions">Positions compared.</param>
/// <param name="MaxDeltaVsLlamaCpp">max |ours − llama.cpp| over every position and token.</param>
/// <param name="ArgmaxAgreement">Fraction of positions where both pick the same top token.</param>
/// <param name="PerplexityOurs">Our perplexity on the sampled part of the sequence (in distribution, as natural text is for a trained model).</param>
/// <param name="PerplexityLlamaCpp">llama.cpp's perplexity on the sampled part.</param>
/// <param name="TextPerplexityOurs">Our perplexity on the text part (out of distribution for a random model).</param>
/// <param name="TextPerplexityLlamaCpp">llama.cpp's perplexity on the text part.</param>
/// <param name="MaxDeltaVsFloat64">max |ours − float64 forward on the same dequantized weights|, with float activations (<c>QuantizeActivations = false</c>).</param>
/// <param name="LlamaCppMaxDeltaVsFloat64">max |llama.cpp − float64 forward|: what llama.cpp's 8-bit activations cost.</param>
internal sealed record ConformanceResult(
    string Architecture,
    string Variant,
    string TensorTypes,
    bool Loads,
    string? Error,
    int Positions,
    double MaxDeltaVsLlamaCpp,
    double ArgmaxAgreement,
    double PerplexityOurs,
    double PerplexityLlamaCpp,
    double TextPerplexityOurs,
    double TextPerplexityLlamaCpp,
    double MaxDeltaVsFloat64,
    double LlamaCppMaxDeltaVsFloat64)
{
    /// <summary>max |llama.cpp − float64 forward with llama.cpp's activation rounding| (NaN when the architecture has no such forward).</summary>
    public double LlamaCppMaxDeltaVsRounded { get; init; } = double.NaN;

    /// <summary>max |ours with default options − float64 forward|: what our 8-bit activations (on kept-quantized matrices) cost.</summary>
    public double DefaultMaxDeltaVsFloat64 { get; init; } = double.NaN;

    /// <summary>
    /// Argmax disagreements with llama.cpp that its own distance from the exact logits cannot explain (see
    /// <see cref="ConformanceMetrics.UnexplainedArgmaxFlips"/>); NaN when not measured.
    /// </summary>
    public double UnexplainedArgmaxFlips { get; init; } = double.NaN;

    /// <summary>Argmax disagreements with llama.cpp at positions.</summary>
    public int ArgmaxFlips => (int)Math.Round((1 - ArgmaxAgreement) * Positions);

    /// <summary>Ours over llama.cpp's perplexity.</summary>
    public double PerplexityRatio => PerplexityOurs / PerplexityLlamaCpp;

    /// <summary>Ours over llama.cpp's perplexity on the text part.</summary>
    public double TextPerplexityRatio => TextPerplexityOurs / TextPerplexityLlamaCpp;

    /// <summary>
    /// The goals: every type within 1e-3 of the float64 forward; F32/F16 with every argmax equal,
    /// max |Δlogit| ≤ 0.02 and perplexity within 0.1 % of llama.cpp; quantized types with perplexity within 1 %.
    /// </summary>
    /// <param name="isFloat">True for F32/F16 files.</param>
    public bool MeetsGoals(bool isFloat) =>
        Loads && MaxDeltaVsFloat64 <= 1e-3 && (isFloat
            ? ArgmaxAgreement == 1 && MaxDeltaVsLlamaCpp <= 0.02 && Math.Abs(PerplexityRatio - 1) <= 1e-3
            : Math.Abs(PerplexityRatio - 1) <= 0.01);

    /// <summary>
    /// The F32/F16 goals with the argmax goal read as "every flip is llama.cpp's": the goals of <see cref="MeetsGoals"/>
    /// except that argmax disagreements are allowed at near-ties its own rounding can swap, where ours picks the exact argmax.
    /// </summary>
    public bool MeetsGoalsExceptNearTieFlips(bool isFloat) =>
        MeetsGoals(isFloat) || (isFloat && Loads && MaxDeltaVsFloat64 <= 1e-3 && UnexplainedArgmaxFlips == 0 &&
            MaxDeltaVsLlamaCpp <= 0.02 && Math.Abs(PerplexityRatio - 1) <= 1e-3);
}
