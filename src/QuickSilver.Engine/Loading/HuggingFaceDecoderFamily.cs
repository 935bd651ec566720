using QuickSilver.Engine.Models;

namespace QuickSilver.Engine.Loading;

/// <summary>How a sliding window is assigned to layers when config.json has no <c>layer_types</c> list.</summary>
internal enum SlidingWindowRule
{
    /// <summary>The family has no sliding window; transformers ignores a <c>sliding_window</c> field (Llama).</summary>
    None,
    /// <summary>Every layer, whenever <c>sliding_window</c> is set (Mistral).</summary>
    AllLayers,
    /// <summary>Only with <c>use_sliding_window</c>, and then layers ≥ <c>max_window_layers</c> (Qwen2/Qwen3).</summary>
    QwenFromMaxWindowLayers,
}

/// <summary>What one transformers <c>model_type</c> of the Llama shape means differently: defaults, fusions and rules.</summary>
internal sealed record HuggingFaceDecoderFamily
{
    /// <summary>config.json's model_type.</summary>
    public required string ModelType { get; init; }
    /// <summary>attention_bias when the config does not say (Qwen2: q/k/v biases always).</summary>
    public bool DefaultAttentionBias { get; init; }
    /// <summary>o_proj never carries a bias even when q/k/v do (Qwen2).</summary>
    public bool OutputProjectionUnbiased { get; init; }
    /// <summary>Per-head q_norm/k_norm weights are part of the model (Qwen3).</summary>
    public bool QueryKeyNorm { get; init; }
    /// <summary>How layers get the sliding window.</summary>
    public SlidingWindowRule SlidingWindow { get; init; } = SlidingWindowRule.AllLayers;
    /// <summary>rms_norm_eps when absent.</summary>
    public float DefaultNormEps { get; init; } = 1e-6f;
    /// <summary>The MLP's gating.</summary>
    public FeedForwardKind FeedForward { get; init; } = FeedForwardKind.SwiGlu;
}
