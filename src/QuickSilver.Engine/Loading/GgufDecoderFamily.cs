using QuickSilver.Engine.Models;

namespace QuickSilver.Engine.Loading;

/// <summary>
/// What one GGUF architecture of the Llama shape stores or means differently, as llama.cpp's converter writes it and
/// llama.cpp's graph runs it. Everything else (biases, q/k norms, post-norms, rope_freqs) is detected from the tensors present.
/// </summary>
internal sealed record GgufDecoderFamily
{
    /// <summary>general.architecture, and the prefix of its metadata keys.</summary>
    public required string Name { get; init; }
    /// <summary>llama.cpp runs it with adjacent-pair ("normal") RoPE, so the converter permuted q/k rows; NEOX families are stored rotate-half.</summary>
    public bool InterleavedRope { get; init; }
    /// <summary>The MLP's gating (SwiGLU or GeGLU).</summary>
    public FeedForwardKind FeedForward { get; init; } = FeedForwardKind.SwiGlu;
    /// <summary>Token embeddings are multiplied by √d (Gemma).</summary>
    public bool ScaleEmbeddingBySqrtWidth { get; init; }
    /// <summary>
    /// llama.cpp's set_swa_pattern(n): layer l is local when l mod n &lt; n − 1 (2 = every other layer from 0, 6 = five local, one global);
    /// 0 = every layer is local whenever a window is given.
    /// </summary>
    public int SlidingWindowPeriod { get; init; }
    /// <summary>Whether a sliding window is required metadata (Gemma 2/3) rather than optional.</summary>
    public bool RequiresSlidingWindow { get; init; }
    /// <summary>RoPE base llama.cpp hard-codes for the local layers (Gemma 3: 10000), or null to share the global base.</summary>
    public float? LocalRopeTheta { get; init; }
    /// <summary>Reads attention and final logit soft-caps from metadata (Gemma 2).</summary>
    public bool SoftCaps { get; init; }
    /// <summary>
    /// llama.cpp's query scale rule for Gemma 2/3: 1/√(d/nh) for the 27B shape (this many layers), 1/√hs otherwise; 0 = plain 1/√hs.
    /// The converter does not store query_pre_attn_scalar, so llama.cpp infers it from the model size.
    /// </summary>
    public int WideQueryScaleLayerCount { get; init; }
}
