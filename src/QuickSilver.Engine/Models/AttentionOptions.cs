namespace QuickSilver.Engine.Models;

/// <summary>How one layer scores queries against keys: scale, sliding window and soft-cap. Set per layer from <see cref="ModelConfig"/>.</summary>
public sealed record AttentionOptions
{
    /// <summary>Plain causal attention scaled by 1/√hs.</summary>
    public static AttentionOptions Default { get; } = new();

    /// <summary>Score scale; null means 1/√hs.</summary>
    public double? Scale { get; init; }
    /// <summary>A query at position p sees keys at positions p − Window + 1 … p; null for every earlier key.</summary>
    public int? Window { get; init; }
    /// <summary>Soft-cap c on the scores (c·tanh(s/c)), or 0.</summary>
    public float SoftCap { get; init; }

    /// <summary>The options of layer <paramref name="layer"/> of <paramref name="config"/>.</summary>
    public static AttentionOptions ForLayer(ModelConfig config, int layer)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new AttentionOptions { Scale = config.AttentionScale, Window = config.WindowOf(layer), SoftCap = config.AttentionSoftCap };
    }
}
