namespace QuickSilver.Engine.Loading;

/// <summary>
/// The one canonical weight naming every loader maps into. Matrices are PyTorch <c>[out, in]</c>.
/// q/k rows are in rotate-half (HF) order: loaders of interleaved checkpoints (GGUF, llama2.c) permute them.
/// GPT-2's fused Conv1D c_attn <c>[in, 3·out]</c> is split and transposed into q/k/v.
/// </summary>
public static class WeightNames
{
    /// <summary>Token embedding [V, d].</summary>
    public const string Embedding = "embed.weight";
    /// <summary>Learned position table [P, d].</summary>
    public const string PositionEmbedding = "pos_embed.weight";
    /// <summary>Final norm weight [d].</summary>
    public const string FinalNormWeight = "final_norm.weight";
    /// <summary>Final norm bias [d] (LayerNorm only).</summary>
    public const string FinalNormBias = "final_norm.bias";
    /// <summary>Output head [V, d]; absent when tied to the embedding.</summary>
    public const string LmHead = "lm_head.weight";

    /// <summary>Pre-attention norm weight [d].</summary>
    public static string AttnNormWeight(int layer) => $"layers.{layer}.attn_norm.weight";
    /// <summary>Pre-attention norm bias [d].</summary>
    public static string AttnNormBias(int layer) => $"layers.{layer}.attn_norm.bias";
    /// <summary>Query projection [nh·hs, d].</summary>
    public static string Query(int layer) => $"layers.{layer}.attn.q.weight";
    /// <summary>Key projection [nkv·hs, d].</summary>
    public static string Key(int layer) => $"layers.{layer}.attn.k.weight";
    /// <summary>Value projection [nkv·hs, d].</summary>
    public static string Value(int layer) => $"layers.{layer}.attn.v.weight";
    /// <summary>Attention output projection [d, nh·hs].</summary>
    public static string Output(int layer) => $"layers.{layer}.attn.o.weight";
    /// <summary>Bias of a projection named by one of the weight functions.</summary>
    public static string BiasOf(string weightName) => weightName.EndsWith(".weight", StringComparison.Ordinal)
        ? weightName[..^".weight".Length] + ".bias"
        : throw new ArgumentException($"'{weightName}' is not a weight name.", nameof(weightName));
    /// <summary>Per-head query RMSNorm weight [hs] (Qwen3, Gemma 3).</summary>
    public static string QueryNorm(int layer) => $"layers.{layer}.attn.q_norm.weight";
    /// <summary>Per-head key RMSNorm weight [hs] (Qwen3, Gemma 3).</summary>
    public static string KeyNorm(int layer) => $"layers.{layer}.attn.k_norm.weight";
    /// <summary>Norm of the attention output before the residual add [d] (Gemma 2/3 sandwich).</summary>
    public static string PostAttnNorm(int layer) => $"layers.{layer}.attn_post_norm.weight";
    /// <summary>Norm of the MLP output before the residual add [d] (Gemma 2/3 sandwich).</summary>
    public static string PostMlpNorm(int layer) => $"layers.{layer}.mlp_post_norm.weight";
    /// <summary>Pre-MLP norm weight [d].</summary>
    public static string MlpNormWeight(int layer) => $"layers.{layer}.mlp_norm.weight";
    /// <summary>Pre-MLP norm bias [d].</summary>
    public static string MlpNormBias(int layer) => $"layers.{layer}.mlp_norm.bias";
    /// <summary>SwiGLU gate [I, d].</summary>
    public static string Gate(int layer) => $"layers.{layer}.mlp.gate.weight";
    /// <summary>Up projection [I, d] (GPT-2 c_fc transposed).</summary>
    public static string Up(int layer) => $"layers.{layer}.mlp.up.weight";
    /// <summary>Down projection [d, I] (GPT-2 mlp c_proj transposed).</summary>
    public static string Down(int layer) => $"layers.{layer}.mlp.down.weight";
}
