using QuickSilver.Engine;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Runtime;
using QuickSilver.Testing.LlamaCpp;
using TorchSharp;

namespace QuickSilver.Testing.Conformance;

/// <summary>
/// Measures one cell of the matrix: quantize the architecture's F32 file with llama-quantize, then compare our logits at
/// every position with llama.cpp's on the same file and with the float64 forward on the same dequantized weights.
/// </summary>
internal static class ConformanceRunner
{
    /// <summary>Writes <paramref name="variant"/> of <paramref name="source"/> into <paramref name="folder"/> and measures it.</summary>
    /// <param name="architecture">The row.</param>
    /// <param name="variant">The column.</param>
    /// <param name="source">The architecture's F32 file (<see cref="IConformanceArchitecture.WriteGguf"/>).</param>
    /// <param name="folder">Where the quantized file goes.</param>
    /// <param name="sequence">Evaluation tokens (text part, then sampled part).</param>
    /// <param name="withRoundedReference">Also run the float64 forward rounding activations like llama.cpp (an explanatory column; doubles the reference's cost).</param>
    public static ConformanceResult Run(IConformanceArchitecture architecture, ConformanceVariant variant, string source, string folder, ConformanceTokens sequence, bool withRoundedReference = true)
    {
        int[] tokens = sequence.Ids;
        int split = sequence.TextEnd;
        string path = Path.Combine(folder, $"{architecture.Name}-{variant.Name.Replace(' ', '-')}.gguf");
        variant.Quantize(source, path);
        string types = DescribeTypes(path);
        double[][] theirs = architecture.LlamaCppLogits(path, tokens);
        double[][] reference = architecture.ReferenceLogits(path, tokens);
        double theirPerplexity = ConformanceMetrics.Perplexity(theirs, tokens, split - 1, tokens.Length - 1);
        double theirTextPerplexity = ConformanceMetrics.Perplexity(theirs, tokens, 0, split - 1);
        double theirDeltaReference = ConformanceMetrics.MaxAbsDelta(theirs, reference);
        double[][]? rounded = withRoundedReference ? architecture.ReferenceLogitsRoundedLikeLlamaCpp(path, tokens) : null;
        double theirDeltaRounded = rounded is null ? double.NaN : ConformanceMetrics.MaxAbsDelta(theirs, rounded);
        double[][] ours, exact;
        try
        {
            ours = OurLogits(path, tokens);
            exact = OurLogits(path, tokens, new LanguageModelOptions { QuantizeActivations = false });
        }
        catch (ModelFormatException e)
        {
            return new ConformanceResult(architecture.Name, variant.Name, types, false, e.Message, tokens.Length,
                double.NaN, double.NaN, double.NaN, theirPerplexity, double.NaN, theirTextPerplexity, double.NaN, theirDeltaReference)
            {
                LlamaCppMaxDeltaVsRounded = theirDeltaRounded,
            };
        }
        return new ConformanceResult(architecture.Name, variant.Name, types, true, null, tokens.Length,
            ConformanceMetrics.MaxAbsDelta(ours, theirs), ConformanceMetrics.ArgmaxAgreement(ours, theirs),
            ConformanceMetrics.Perplexity(ours, tokens, split - 1, tokens.Length - 1), theirPerplexity,
            ConformanceMetrics.Perplexity(ours, tokens, 0, split - 1), theirTextPerplexity,
            ConformanceMetrics.MaxAbsDelta(exact, reference), theirDeltaReference)
        {
            LlamaCppMaxDeltaVsRounded = theirDeltaRounded,
            DefaultMaxDeltaVsFloat64 = ConformanceMetrics.MaxAbsDelta(ours, reference),
            UnexplainedArgmaxFlips = ConformanceMetrics.UnexplainedArgmaxFlips(ours, theirs, reference, theirDeltaReference),
        };
    }

    /// <summary>Our logits at every position, through the public loader and the dense forward (default options unless given).</summary>
    public static double[][] OurLogits(string path, IReadOnlyList<int> tokens, LanguageModelOptions? options = null)
    {
        using LanguageModel model = LanguageModel.Load(path, options);
        using var scope = torch.NewDisposeScope();
        using ForwardOutput forward = model.Runner.Run(new ForwardInput { TokenIds = tokens, AllLogits = true });
        float[] flat = forward.Logits.contiguous().data<float>().ToArray();
        return ConformanceMetrics.Rows(flat, flat.Length / tokens.Count);
    }

    /// <summary>The vocabulary size of a GGUF, read off token_embd.weight's shape [vocab, d].</summary>
    public static int VocabularySize(string gguf) =>
        GgufFile.Read(gguf).TryGetTensor("token_embd.weight", out GgufTensorInfo? info)
            ? (int)info.Shape[0]
            : throw new InvalidDataException($"{gguf}: tensor 'token_embd.weight' is missing.");

    /// <summary>"Q4_K×9, Q6_K×5, F32×5": the tensor types in the file, most frequent first.</summary>
    public static string DescribeTypes(string gguf) =>
        string.Join(", ", GgufFile.Read(gguf).Tensors.GroupBy(t => t.Type).OrderByDescending(g => g.Count()).ThenBy(g => g.Key)
            .Select(g => $"{g.Key}×{g.Count()}"));
}
