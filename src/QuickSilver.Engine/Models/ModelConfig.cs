using QuickSilver.Engine.Loading;

namespace QuickSilver.Engine.Models;

/// <summary>
/// Everything that distinguishes one decoder-only transformer from another. Architecture differences
/// (GPT-2 versus Llama) live here and in the loaders' weight maps, never as branches inside blocks.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>Family name as the checkpoint states it ("gpt2", "llama").</summary>
    public required string Architecture { get; init; }
    /// <summary>Vocabulary size (rows of the embedding and of the head).</summary>
    public required int VocabSize { get; init; }
    /// <summary>Model width d.</summary>
    public required int HiddenSize { get; init; }
    /// <summary>Number of transformer blocks L.</summary>
    public required int NumLayers { get; init; }
    /// <summary>Number of query heads.</summary>
    public required int NumHeads { get; init; }
    /// <summary>Number of key/value heads (grouped-query attention when smaller than <see cref="NumHeads"/>).</summary>
    public required int NumKvHeads { get; init; }
    /// <summary>Width of one head.</summary>
    public required int HeadDim { get; init; }
    /// <summary>Inner width of the MLP.</summary>
    public required int IntermediateSize { get; init; }
    /// <summary>Context window the model was trained for.</summary>
    public required int MaxPositions { get; init; }
    /// <summary>Epsilon of the normalization layers.</summary>
    public float NormEps { get; init; } = 1e-5f;
    /// <summary>RoPE base frequency (ignored with learned positions).</summary>
    public float RopeTheta { get; init; } = 10000f;
    /// <summary>Normalization kind.</summary>
    public required NormKind Norm { get; init; }
    /// <summary>Position encoding kind.</summary>
    public required PositionEncodingKind Positions { get; init; }
    /// <summary>MLP kind.</summary>
    public required FeedForwardKind FeedForward { get; init; }
    /// <summary>Whether q/k/v/o projections carry biases.</summary>
    public bool AttentionBias { get; init; }
    /// <summary>Whether MLP projections carry biases.</summary>
    public bool MlpBias { get; init; }
    /// <summary>Whether the head reuses the token embedding.</summary>
    public bool TiedEmbeddings { get; init; }
    /// <summary>Beginning-of-sequence token, or -1.</summary>
    public int BosTokenId { get; init; } = -1;
    /// <summary>End-of-sequence token, or -1.</summary>
    public int EosTokenId { get; init; } = -1;
    /// <summary>Leading width of each head that RoPE rotates (partial rotary, Phi-4-mini); 0 means all of <see cref="HeadDim"/>.</summary>
    public int RotaryDim { get; init; }
    /// <summary>RoPE frequency scaling (linear, llama3, longrope), or null for plain RoPE.</summary>
    public RopeScaling? RopeScaling { get; init; }
    /// <summary>RoPE base of the sliding-window layers when it differs from <see cref="RopeTheta"/> (Gemma 3: 10000); those layers run unscaled.</summary>
    public float? RopeLocalTheta { get; init; }
    /// <summary>Sliding attention window in tokens (a query at p sees keys at p − w + 1 … p), or 0 for full attention.</summary>
    public int SlidingWindow { get; init; }
    /// <summary>Which layers use <see cref="SlidingWindow"/> (true = local); null means every layer.</summary>
    public IReadOnlyList<bool>? SlidingWindowLayers { get; init; }
    /// <summary>Per-head RMSNorm of queries and keys before RoPE (Qwen3, Gemma 3).</summary>
    public bool QueryKeyNorm { get; init; }
    /// <summary>Attention score scale; null means 1/√<see cref="HeadDim"/> (Gemma 2/3: query_pre_attn_scalar^−½).</summary>
    public float? AttentionScale { get; init; }
    /// <summary>Attention score soft-cap c: scores become c·tanh(scores/c); 0 disables it (Gemma 2).</summary>
    public float AttentionSoftCap { get; init; }
    /// <summary>Final logit soft-cap c: logits become c·tanh(logits/c); 0 disables it (Gemma 2).</summary>
    public float FinalLogitSoftCap { get; init; }
    /// <summary>Factor the token embeddings are multiplied by (Gemma: √d); 1 for most models.</summary>
    public float EmbeddingScale { get; init; } = 1f;
    /// <summary>Norms on the attention and MLP outputs before each residual add (Gemma 2/3's sandwich).</summary>
    public bool PostNorms { get; init; }

    /// <summary>The attention window of layer <paramref name="layer"/>, or null for full causal attention.</summary>
    public int? WindowOf(int layer) =>
        SlidingWindow > 0 && (SlidingWindowLayers is null || SlidingWindowLayers[layer]) ? SlidingWindow : null;

    /// <summary>The rotated width per head: <see cref="RotaryDim"/>, or all of <see cref="HeadDim"/>.</summary>
    public int RotatedWidth => RotaryDim > 0 ? RotaryDim : HeadDim;

    /// <summary>Whether layer <paramref name="layer"/> is a local (sliding-window) layer.</summary>
    public bool IsLocalLayer(int layer) => WindowOf(layer) is not null;

    /// <summary>Checks every field; throws <see cref="ModelFormatException"/> naming the first bad one.</summary>
    /// <param name="source">The file the config came from, for the message.</param>
    public void Validate(string? source = null)
    {
        Positive(VocabSize, nameof(VocabSize));
        Positive(HiddenSize, nameof(HiddenSize));
        Positive(NumLayers, nameof(NumLayers));
        Positive(NumHeads, nameof(NumHeads));
        Positive(NumKvHeads, nameof(NumKvHeads));
        Positive(HeadDim, nameof(HeadDim));
        Positive(IntermediateSize, nameof(IntermediateSize));
        Positive(MaxPositions, nameof(MaxPositions));
        if (NumHeads % NumKvHeads != 0)
            throw new ModelFormatException(source, $"config field {nameof(NumHeads)} ({NumHeads}) is not a multiple of {nameof(NumKvHeads)} ({NumKvHeads}).");
        if (Positions == PositionEncodingKind.Rotary && HeadDim % 2 != 0)
            throw new ModelFormatException(source, $"config field {nameof(HeadDim)} ({HeadDim}) must be even for rotary embeddings.");
        if (!(NormEps > 0) || float.IsInfinity(NormEps))
            throw new ModelFormatException(source, $"config field {nameof(NormEps)} ({NormEps}) must be a positive finite number.");
        if (Positions == PositionEncodingKind.Rotary && (!(RopeTheta > 0) || float.IsInfinity(RopeTheta)))
            throw new ModelFormatException(source, $"config field {nameof(RopeTheta)} ({RopeTheta}) must be a positive finite number.");
        if (BosTokenId >= VocabSize || EosTokenId >= VocabSize)
            throw new ModelFormatException(source, $"config fields {nameof(BosTokenId)}/{nameof(EosTokenId)} ({BosTokenId}/{EosTokenId}) lie outside the vocabulary ({VocabSize}).");
        if (SlidingWindow < 0)
            throw new ModelFormatException(source, $"config field {nameof(SlidingWindow)} ({SlidingWindow}) must not be negative.");
        if (SlidingWindowLayers is not null && SlidingWindowLayers.Count != NumLayers)
            throw new ModelFormatException(source, $"config field {nameof(SlidingWindowLayers)} lists {SlidingWindowLayers.Count} layers but the model has {NumLayers}.");
        if (AttentionScale is float scale && !(scale > 0 && float.IsFinite(scale)))
            throw new ModelFormatException(source, $"config field {nameof(AttentionScale)} ({scale}) must be a positive finite number.");
        if (!(AttentionSoftCap >= 0) || !(FinalLogitSoftCap >= 0) || !(EmbeddingScale > 0))
            throw new ModelFormatException(source, $"config fields {nameof(AttentionSoftCap)}/{nameof(FinalLogitSoftCap)}/{nameof(EmbeddingScale)} ({AttentionSoftCap}/{FinalLogitSoftCap}/{EmbeddingScale}) are out of range.");
        if (RopeLocalTheta is float local && !(local > 0 && float.IsFinite(local)))
            throw new ModelFormatException(source, $"config field {nameof(RopeLocalTheta)} ({local}) must be a positive finite number.");
        if (RotaryDim < 0 || RotaryDim > HeadDim || RotaryDim % 2 != 0)
            throw new ModelFormatException(source, $"config field {nameof(RotaryDim)} ({RotaryDim}) must be even and at most {nameof(HeadDim)} ({HeadDim}).");
        RopeScaling?.Validate(RotaryDim > 0 ? RotaryDim : HeadDim, source);
        if ((long)HiddenSize * VocabSize > int.MaxValue * 4L)
            throw new ModelFormatException(source, $"config fields {nameof(HiddenSize)}×{nameof(VocabSize)} are implausibly large.");

        void Positive(int value, string name)
        {
            if (value <= 0) throw new ModelFormatException(source, $"config field {name} must be positive (got {value}).");
        }
    }
}
