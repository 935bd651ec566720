using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;

namespace QuickSilver.Testing.Conformance;

/// <summary>
/// Random weights for the conformance matrix, scaled by role so that a random model behaves like a trained one where it
/// matters for the comparison: unit-RMS activations through every matrix, residual branches that nudge the stream
/// rather than replace it, and logits with a spread of a few units (so perplexity and argmax are informative).
/// </summary>
internal static class ConformanceWeights
{
    /// <summary>
    /// Gain of the projections back into the residual stream (o_proj, down_proj): at full gain a random model is chaotic
    /// enough to turn 8-bit activation rounding into logit differences far beyond what it does in real files.
    /// </summary>
    public const float BranchGain = 0.5f;

    /// <summary>Every tensor <paramref name="c"/>'s config needs, drawn uniformly with the role's scale (fixed seed).</summary>
    public static CheckpointData Create(ArchitectureCase c, int seed = 20261202)
    {
        ModelConfig m = c.Config;
        var random = new Random(seed);
        CheckpointData shapes = RandomCheckpoint.Create(m, seed);
        var tensors = new Dictionary<string, HostTensor>();
        // Ordinal order: the draw does not depend on dictionary order.
        foreach (string name in shapes.Tensors.Keys.Order(StringComparer.Ordinal))
        {
            HostTensor t = shapes.Tensors[name];
            (float scale, float offset) = Role(m, name, t.Shape);
            var data = new float[t.Data.Length];
            for (int i = 0; i < data.Length; i++) data[i] = offset + ((float)((random.NextDouble() * 2) - 1) * scale);
            tensors[name] = t with { Data = data };
        }
        return new CheckpointData(m, c.WithoutOutputBias(tensors), null, "conformance-random");
    }

    private static (float Scale, float Offset) Role(ModelConfig m, string name, long[] shape)
    {
        if (name == WeightNames.FinalNormWeight && m.TiedEmbeddings)
        {
            float normGain = TiedLogitSpread / (MathF.Sqrt(m.HiddenSize) * TiedEmbeddingRms(m));
            return (0.2f * normGain, normGain);
        }
        if (shape.Length == 1)
        {
            // Norm weights 1 ± 0.2 (GGUF's Gemma norms already hold 1 + w), LayerNorm and linear biases ± 0.1.
            bool isBias = name.EndsWith(".bias", StringComparison.Ordinal);
            return isBias ? (0.1f, 0f) : (0.2f, 1f);
        }
        float columns = shape[1];
        if (name == WeightNames.Embedding)
        {
            return m.TiedEmbeddings ? (TiedEmbeddingRms(m) * MathF.Sqrt(3f), 0f) : (1f, 0f);
        }
        if (name == WeightNames.PositionEmbedding) return (0.5f, 0f);
        if (name == WeightNames.LmHead) return (4f * MathF.Sqrt(3f / columns), 0f);
        float gain = IsResidualBranch(m, name) ? BranchGain : 1f;
        return (gain * MathF.Sqrt(3f / columns), 0f);
    }

    /// <summary>Spread (standard deviation) of a tied model's logits.</summary>
    private const float TiedLogitSpread = 3f;

    /// <summary>
    /// A tied head scores each token by its embedding's dot product with the final state, which still holds the current
    /// token's own embedding: with embeddings as large as the blocks' outputs a random tied model only ever predicts the
    /// token it just read (perplexity 1, every argmax trivially equal). Small embeddings (Gemma's are multiplied by √d)
    /// keep that self-bias near one logit; the final norm's gain then restores a spread of <see cref="TiedLogitSpread"/>.
    /// </summary>
    private static float TiedEmbeddingRms(ModelConfig m) => m.EmbeddingScale > 1 ? 0.003f : 0.02f;

    private static bool IsResidualBranch(ModelConfig m, string name) =>
        Enumerable.Range(0, m.NumLayers).Any(l => name == WeightNames.Output(l) || name == WeightNames.Down(l));
}
