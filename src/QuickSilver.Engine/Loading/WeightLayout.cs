using QuickSilver.Engine.Models;

namespace QuickSilver.Engine.Loading;

/// <summary>The canonical tensors (names and shapes) a <see cref="ModelConfig"/> implies. Loaders check against it; engines can build modules from it.</summary>
public static class WeightLayout
{
    /// <summary>Every canonical tensor the config requires, with its PyTorch shape (matrices <c>[out, in]</c>), in a stable order.</summary>
    /// <param name="config">A validated configuration.</param>
    public static IReadOnlyDictionary<string, long[]> ExpectedShapes(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        long d = config.HiddenSize;
        long qRows = (long)config.NumHeads * config.HeadDim;
        long kvRows = (long)config.NumKvHeads * config.HeadDim;
        long inner = config.IntermediateSize;
        bool layerNorm = config.Norm == NormKind.LayerNorm;

        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal)
        {
            [WeightNames.Embedding] = [config.VocabSize, d],
        };
        if (config.Positions == PositionEncodingKind.Learned)
            shapes[WeightNames.PositionEmbedding] = [config.MaxPositions, d];

        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            shapes[WeightNames.AttnNormWeight(layer)] = [d];
            if (layerNorm) shapes[WeightNames.AttnNormBias(layer)] = [d];
            AddProjection(WeightNames.Query(layer), qRows, d, config.AttentionBias);
            AddProjection(WeightNames.Key(layer), kvRows, d, config.AttentionBias);
            AddProjection(WeightNames.Value(layer), kvRows, d, config.AttentionBias);
            AddProjection(WeightNames.Output(layer), d, qRows, config.AttentionBias);
            if (config.QueryKeyNorm)
            {
                shapes[WeightNames.QueryNorm(layer)] = [config.HeadDim];
                shapes[WeightNames.KeyNorm(layer)] = [config.HeadDim];
            }
            if (config.PostNorms)
            {
                shapes[WeightNames.PostAttnNorm(layer)] = [d];
                shapes[WeightNames.PostMlpNorm(layer)] = [d];
            }
            shapes[WeightNames.MlpNormWeight(layer)] = [d];
            if (layerNorm) shapes[WeightNames.MlpNormBias(layer)] = [d];
            if (config.FeedForward is FeedForwardKind.SwiGlu or FeedForwardKind.GeGlu)
                AddProjection(WeightNames.Gate(layer), inner, d, config.MlpBias);
            AddProjection(WeightNames.Up(layer), inner, d, config.MlpBias);
            AddProjection(WeightNames.Down(layer), d, inner, config.MlpBias);
        }

        shapes[WeightNames.FinalNormWeight] = [d];
        if (layerNorm) shapes[WeightNames.FinalNormBias] = [d];
        if (!config.TiedEmbeddings) shapes[WeightNames.LmHead] = [config.VocabSize, d];
        return shapes;

        void AddProjection(string weight, long rows, long columns, bool bias)
        {
            shapes[weight] = [rows, columns];
            if (bias) shapes[WeightNames.BiasOf(weight)] = [rows];
        }
    }

    /// <summary>Formats a shape as <c>[a, b]</c> for messages.</summary>
    public static string FormatShape(IEnumerable<long> shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return "[" + string.Join(", ", shape) + "]";
    }
}
