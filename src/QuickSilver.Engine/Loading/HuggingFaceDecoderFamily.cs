using QuickSilver.Engine.Models;

namespace QuickSilver.Engine.Loading;

/// <summary>How a sliding window is assigned to layers when config.json has no <c>layer_types</c> list.</summary>
internal enum SlidingWindowRule
{
    /// <summary>The family has no sliding window; transformers ignores a <c>sliding_window</c> field (Llama, Gemma).</summary>
    None,
    /// <summary>Every layer, whenever <c>sliding_window</c> is set (Mistral, Phi-3).</summary>
    AllLayers,
    /// <summary>Only with <c>use_sliding_window</c>, and then layers ≥ <c>max_window_layers</c> (Qwen2/Qwen3).</summary>
    QwenFromMaxWindowLayers,
    /// <summary>Even layers local, odd layers global (Gemma 2).</summary>
    Alternating,
    /// <summary>Layer l is global when (l + 1) is a multiple of <c>sliding_window_pattern</c> (default 6), local otherwise (Gemma 3).</summary>
    Pattern,
}

/// <summary>What one transformers <c>model_type</c> of the Llama shape means differently: defaults, names and rules.</summary>
internal sealed record HuggingFaceDecoderFamily
{
    /// <summary>config.json's model_type.</summary>
    public required string ModelType { get; init; }
    /// <summary>attention_bias when the config does not say (Qwen2: q/k/v biases always).</summary>
    public bool DefaultAttentionBias { get; init; }
    /// <summary>o_proj never carries a bias even when q/k/v do (Qwen2).</summary>
    public bool OutputProjectionUnbiased { get; init; }
    /// <summary>Per-head q_norm/k_norm weights are part of the model (Qwen3, Gemma 3).</summary>
    public bool QueryKeyNorm { get; init; }
    /// <summary>How layers get the sliding window.</summary>
    public SlidingWindowRule SlidingWindow { get; init; } = SlidingWindowRule.AllLayers;
    /// <summary>rms_norm_eps when absent.</summary>
    public float DefaultNormEps { get; init; } = 1e-6f;
    /// <summary>The MLP's gating: SwiGLU (hidden_act silu) or GeGLU (hidden_activation gelu_pytorch_tanh).</summary>
    public FeedForwardKind FeedForward { get; init; } = FeedForwardKind.SwiGlu;
    /// <summary>Added to every stored norm weight: Gemma's RMSNorm computes x̂·(1 + w), our RMSNorm x̂·w.</summary>
    public float NormWeightOffset { get; init; }
    /// <summary>Gemma 2/3's four norms per layer: input, post_attention (sandwich), pre_feedforward, post_feedforward.</summary>
    public bool SandwichNorms { get; init; }
    /// <summary>Token embeddings times √hidden_size (Gemma).</summary>
    public bool ScaleEmbeddingBySqrtWidth { get; init; }
    /// <summary>Reads query_pre_attn_scalar (score scale its −½ power) and the attention/final logit soft-caps (Gemma 2/3).</summary>
    public bool GemmaAttention { get; init; }
    /// <summary>Field naming the RoPE base of the local layers (Gemma 3: rope_local_base_freq), or null.</summary>
    public string? LocalRopeThetaField { get; init; }
    /// <summary>tie_word_embeddings when absent (transformers' PretrainedConfig default is true; Llama-family configs set false).</summary>
    public bool DefaultTiedEmbeddings { get; init; }
}
