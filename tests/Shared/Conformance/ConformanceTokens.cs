using QuickSilver.Engine;
using QuickSilver.Engine.Runtime;
using TorchSharp;

namespace QuickSilver.Testing.Conformance;

/// <summary>
/// The evaluation sequence of one architecture: BOS and the bytes of a text (out-of-distribution for a random model,
/// whose perplexity on it is huge), then a continuation sampled from the F32 model itself at temperature 1 (in
/// distribution, the regime of a trained model on natural text). Perplexity is reported on each part.
/// </summary>
/// <param name="Ids">The whole sequence, fed at positions 0..n-1.</param>
/// <param name="TextEnd">Positions [0, TextEnd) are BOS + text; [TextEnd, n) are sampled.</param>
internal sealed record ConformanceTokens(int[] Ids, int TextEnd)
{
    /// <summary>An English paragraph whose bytes become the text part (vocabularies here are byte-sized).</summary>
    public const string DefaultText =
        "The quick brown fox jumps over the lazy dog. Local inference keeps data on the machine, and a careful engine " +
        "gives the same answer as the reference on the same file, token after token.";

    /// <summary>BOS (1) then <paramref name="textTokens"/> − 1 text bytes mapped into ids 3..vocab−1, then <paramref name="sampledTokens"/> sampled from <paramref name="f32Gguf"/>.</summary>
    /// <param name="f32Gguf">The architecture's unquantized file.</param>
    /// <param name="text">Text for the first part.</param>
    /// <param name="textTokens">Length of the first part, BOS included (at least 1).</param>
    /// <param name="sampledTokens">Length of the sampled part.</param>
    /// <param name="seed">Sampling seed.</param>
    public static ConformanceTokens Build(string f32Gguf, string text, int textTokens, int sampledTokens, int seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(textTokens, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(sampledTokens);
        int vocab = ConformanceRunner.VocabularySize(f32Gguf);
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text.Length == 0 ? " " : text);
        var ids = new List<int> { 1 };
        for (int i = 0; i < textTokens - 1; i++) ids.Add(3 + (bytes[i % bytes.Length] % (vocab - 3)));
        if (sampledTokens > 0)
        {
            var random = new Random(seed);
            using LanguageModel model = LanguageModel.Load(f32Gguf);
            for (int i = 0; i < sampledTokens; i++)
            {
                using var scope = torch.NewDisposeScope();
                using ForwardOutput forward = model.Runner.Run(new ForwardInput { TokenIds = ids, AllLogits = true });
                float[] flat = forward.Logits.contiguous().data<float>().ToArray();
                ids.Add(Sample(flat.AsSpan(flat.Length - vocab, vocab), random));
            }
        }
        return new ConformanceTokens([.. ids], textTokens);
    }

    private static int Sample(ReadOnlySpan<float> logits, Random random)
    {
        double max = double.NegativeInfinity;
        foreach (float v in logits) max = Math.Max(max, v);
        var weights = new double[logits.Length];
        double sum = 0;
        for (int i = 0; i < logits.Length; i++) sum += weights[i] = Math.Exp(logits[i] - max);
        double u = random.NextDouble() * sum;
        for (int i = 0; i < weights.Length; i++)
        {
            u -= weights[i];
            if (u <= 0) return i;
        }
        return weights.Length - 1;
    }
}
