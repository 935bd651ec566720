using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Models;

/// <summary>Random weights in the canonical layout, for tests and benchmarks on model shapes we have no checkpoint for.</summary>
public static class RandomCheckpoint
{
    /// <summary>GPT-2 small's shape: 12 layers, 768 wide, 12 heads, 3072 MLP, 50257 vocabulary, 1024 positions.</summary>
    public static ModelConfig Gpt2SmallConfig() => new()
    {
        Architecture = "gpt2", VocabSize = 50257, HiddenSize = 768, NumLayers = 12, NumHeads = 12, NumKvHeads = 12, HeadDim = 64,
        IntermediateSize = 3072, MaxPositions = 1024, Norm = NormKind.LayerNorm, Positions = PositionEncodingKind.Learned,
        FeedForward = FeedForwardKind.GeluTanh, AttentionBias = true, MlpBias = true, TiedEmbeddings = true, BosTokenId = 50256, EosTokenId = 50256,
    };

    /// <summary>Draws every tensor <paramref name="config"/> needs: matrices N(0, std²), biases N(0, (std/2)²), norm weights 1 + N(0, 0.1²).</summary>
    public static CheckpointData Create(ModelConfig config, int seed = 0, float std = 0.02f)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate("random");
        var random = new Random(seed);
        var tensors = new Dictionary<string, HostTensor>();
        int d = config.HiddenSize, qd = config.NumHeads * config.HeadDim, kvd = config.NumKvHeads * config.HeadDim, inner = config.IntermediateSize;

        void Add(string name, float scale, float offset, params long[] shape)
        {
            long count = shape.Aggregate(1L, (a, b) => a * b);
            var data = new float[count];
            for (long i = 0; i < count; i++) data[i] = offset + scale * Gaussian(random);
            tensors[name] = new HostTensor(name, shape, data);
        }
        void Norm(string weight, string bias)
        {
            Add(weight, 0.1f, 1f, d);
            if (config.Norm == NormKind.LayerNorm) Add(bias, 0.1f, 0f, d);
        }
        void Linear(string weight, bool bias, long rows, long cols)
        {
            Add(weight, std, 0f, rows, cols);
            if (bias) Add(WeightNames.BiasOf(weight), std / 2, 0f, rows);
        }

        Add(WeightNames.Embedding, std, 0f, config.VocabSize, d);
        if (config.Positions == PositionEncodingKind.Learned) Add(WeightNames.PositionEmbedding, std, 0f, config.MaxPositions, d);
        for (int i = 0; i < config.NumLayers; i++)
        {
            Norm(WeightNames.AttnNormWeight(i), WeightNames.AttnNormBias(i));
            Linear(WeightNames.Query(i), config.AttentionBias, qd, d);
            Linear(WeightNames.Key(i), config.AttentionBias, kvd, d);
            Linear(WeightNames.Value(i), config.AttentionBias, kvd, d);
            Linear(WeightNames.Output(i), config.AttentionBias, d, qd);
            if (config.QueryKeyNorm)
            {
                Add(WeightNames.QueryNorm(i), 0.1f, 1f, config.HeadDim);
                Add(WeightNames.KeyNorm(i), 0.1f, 1f, config.HeadDim);
            }
            if (config.PostNorms)
            {
                Add(WeightNames.PostAttnNorm(i), 0.1f, 1f, d);
                Add(WeightNames.PostMlpNorm(i), 0.1f, 1f, d);
            }
            Norm(WeightNames.MlpNormWeight(i), WeightNames.MlpNormBias(i));
            if (config.FeedForward is FeedForwardKind.SwiGlu or FeedForwardKind.GeGlu) Linear(WeightNames.Gate(i), config.MlpBias, inner, d);
            Linear(WeightNames.Up(i), config.MlpBias, inner, d);
            Linear(WeightNames.Down(i), config.MlpBias, d, inner);
        }
        Norm(WeightNames.FinalNormWeight, WeightNames.FinalNormBias);
        if (!config.TiedEmbeddings) Add(WeightNames.LmHead, std, 0f, config.VocabSize, d);
        return new CheckpointData(config, tensors, null, "random");
    }

    private static float Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}
