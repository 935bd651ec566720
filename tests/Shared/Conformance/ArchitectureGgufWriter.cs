using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;

namespace QuickSilver.Testing.Conformance;

/// <summary>
/// Writes canonical weights as a GGUF with the tensor names and metadata llama.cpp's convert_hf_to_gguf.py writes for the
/// case's architecture. Written from the converter's conventions, not from our loader.
/// </summary>
internal static class ArchitectureGgufWriter
{
    /// <summary>llama.cpp runs these with adjacent-pair RoPE (LLAMA_ROPE_TYPE_NORM), so its converter permutes q/k rows.</summary>
    private static readonly HashSet<string> InterleavedGguf = ["llama"];

    /// <summary>Whether llama.cpp rotates adjacent pairs (x[2i], x[2i+1]) for <paramref name="ggufArchitecture"/>; otherwise halves (NEOX).</summary>
    public static bool RotatesAdjacentPairs(string ggufArchitecture) => InterleavedGguf.Contains(ggufArchitecture);

    /// <summary>Writes <paramref name="w"/> to <paramref name="path"/>, matrices in <paramref name="matrixType"/> (norms and biases stay F32).</summary>
    public static string Write(ArchitectureCase c, CheckpointData w, string path, GgufTensorType matrixType = GgufTensorType.F32)
    {
        ModelConfig m = c.Config;
        string a = c.GgufArchitecture;
        bool interleaved = RotatesAdjacentPairs(a);
        bool layerNorm = m.Norm == NormKind.LayerNorm;
        var writer = new OverridableWriter(c.GgufMetadata.ToDictionary(p => a + "." + p.Key, p => p.Value))
            .AddMetadata("general.architecture", a)
            .AddMetadata("general.name", "tiny")
            .AddMetadata(a + ".context_length", (uint)m.MaxPositions)
            .AddMetadata(a + ".embedding_length", (uint)m.HiddenSize)
            .AddMetadata(a + ".feed_forward_length", (uint)m.IntermediateSize)
            .AddMetadata(a + ".block_count", (uint)m.NumLayers)
            .AddMetadata(a + ".attention.head_count", (uint)m.NumHeads)
            .AddMetadata(a + ".attention.head_count_kv", (uint)m.NumKvHeads)
            .AddMetadata("tokenizer.ggml.model", "llama")
            // The last token is SentencePiece's newline byte: llama.cpp looks it up when loading some architectures (phi3).
            .AddMetadata("tokenizer.ggml.tokens", Enumerable.Range(0, m.VocabSize).Select(i => TokenText(i, m.VocabSize)).ToArray())
            .AddMetadata("tokenizer.ggml.scores", Enumerable.Range(0, m.VocabSize).Select(i => -(float)i).ToArray())
            .AddMetadata("tokenizer.ggml.token_type", Enumerable.Range(0, m.VocabSize).Select(i => i == m.VocabSize - 1 ? 6 : 1).ToArray())
            .AddMetadata("tokenizer.ggml.bos_token_id", 1u)
            .AddMetadata("tokenizer.ggml.eos_token_id", 2u);
        if (layerNorm)
        {
            writer.AddMetadata(a + ".attention.layer_norm_epsilon", m.NormEps);
        }
        else
        {
            writer.AddMetadata(a + ".rope.dimension_count", (uint)m.RotatedWidth);
            writer.AddMetadata(a + ".rope.freq_base", m.RopeTheta);
            writer.AddMetadata(a + ".attention.layer_norm_rms_epsilon", m.NormEps);
        }
        if (m.HeadDim * m.NumHeads != m.HiddenSize)
        {
            writer.AddMetadata(a + ".attention.key_length", (uint)m.HeadDim);
            writer.AddMetadata(a + ".attention.value_length", (uint)m.HeadDim);
        }
        if (m.SlidingWindow > 0) writer.AddMetadata(a + ".attention.sliding_window", (uint)m.SlidingWindow);
        writer.AddOverrides();
        if (m.RopeScaling is { Type: "llama3" } llama3)
            writer.AddTensor("rope_freqs.weight", [m.RotatedWidth / 2], llama3.FrequencyFactors!);
        if (m.RopeScaling?.LongFrequencyFactors is { } longFactors)
        {
            // convert_hf_to_gguf.py's Phi3MiniModel: both factor lists as tensors, plus attn_factor and the original context.
            writer.AddTensor("rope_factors_long.weight", [m.RotatedWidth / 2], longFactors);
            writer.AddTensor("rope_factors_short.weight", [m.RotatedWidth / 2], m.RopeScaling.FrequencyFactors!);
        }

        float[] T(string name) => w.Tensors[name].Data;
        float[] Rows(float[] rows, int heads, int columns) => interleaved ? RopePermutation.RotateHalfToInterleaved(rows, heads, m.HeadDim, columns) : rows;
        void Bias(string name, long rows, string canonicalWeight)
        {
            if (w.Tensors.TryGetValue(WeightNames.BiasOf(canonicalWeight), out HostTensor? b)) writer.AddTensor(name, [rows], b.Data);
        }
        void Norm(string name, string canonicalWeight, string canonicalBias)
        {
            writer.AddTensor(name + ".weight", [m.HiddenSize], T(canonicalWeight));
            if (layerNorm) writer.AddTensor(name + ".bias", [m.HiddenSize], T(canonicalBias));
        }
        int d = m.HiddenSize, qd = m.NumHeads * m.HeadDim, kvd = m.NumKvHeads * m.HeadDim, inner = m.IntermediateSize;

        writer.AddTensor("token_embd.weight", [m.VocabSize, d], T(WeightNames.Embedding), matrixType);
        // llama.cpp keeps GPT-2's position table in F32 or F16 (a 1-row get_rows table, never quantized by the converter).
        if (m.Positions == PositionEncodingKind.Learned) writer.AddTensor("position_embd.weight", [m.MaxPositions, d], T(WeightNames.PositionEmbedding));
        Norm("output_norm", WeightNames.FinalNormWeight, WeightNames.FinalNormBias);
        if (!m.TiedEmbeddings) writer.AddTensor("output.weight", [m.VocabSize, d], T(WeightNames.LmHead), matrixType);
        for (int l = 0; l < m.NumLayers; l++)
        {
            string p = $"blk.{l}.";
            Norm(p + "attn_norm", WeightNames.AttnNormWeight(l), WeightNames.AttnNormBias(l));
            if (c.Fused)
            {
                writer.AddTensor(p + "attn_qkv.weight", [qd + (2 * kvd), d], [.. T(WeightNames.Query(l)), .. T(WeightNames.Key(l)), .. T(WeightNames.Value(l))], matrixType);
                if (m.AttentionBias)
                {
                    writer.AddTensor(p + "attn_qkv.bias", [qd + (2 * kvd)],
                        [.. T(WeightNames.BiasOf(WeightNames.Query(l))), .. T(WeightNames.BiasOf(WeightNames.Key(l))), .. T(WeightNames.BiasOf(WeightNames.Value(l)))]);
                }
            }
            else
            {
                writer.AddTensor(p + "attn_q.weight", [qd, d], Rows(T(WeightNames.Query(l)), m.NumHeads, d), matrixType);
                writer.AddTensor(p + "attn_k.weight", [kvd, d], Rows(T(WeightNames.Key(l)), m.NumKvHeads, d), matrixType);
                writer.AddTensor(p + "attn_v.weight", [kvd, d], T(WeightNames.Value(l)), matrixType);
                if (m.AttentionBias)
                {
                    writer.AddTensor(p + "attn_q.bias", [qd], Rows(T(WeightNames.BiasOf(WeightNames.Query(l))), m.NumHeads, 1));
                    writer.AddTensor(p + "attn_k.bias", [kvd], Rows(T(WeightNames.BiasOf(WeightNames.Key(l))), m.NumKvHeads, 1));
                    writer.AddTensor(p + "attn_v.bias", [kvd], T(WeightNames.BiasOf(WeightNames.Value(l))));
                }
            }
            writer.AddTensor(p + "attn_output.weight", [d, qd], T(WeightNames.Output(l)), matrixType);
            if (layerNorm) Bias(p + "attn_output.bias", d, WeightNames.Output(l));
            if (m.QueryKeyNorm)
            {
                writer.AddTensor(p + "attn_q_norm.weight", [m.HeadDim], Rows(T(WeightNames.QueryNorm(l)), 1, 1));
                writer.AddTensor(p + "attn_k_norm.weight", [m.HeadDim], Rows(T(WeightNames.KeyNorm(l)), 1, 1));
            }
            if (m.PostNorms)
            {
                writer.AddTensor(p + "post_attention_norm.weight", [d], T(WeightNames.PostAttnNorm(l)));
                writer.AddTensor(p + "post_ffw_norm.weight", [d], T(WeightNames.PostMlpNorm(l)));
            }
            Norm(p + "ffn_norm", WeightNames.MlpNormWeight(l), WeightNames.MlpNormBias(l));
            if (m.FeedForward == FeedForwardKind.GeluTanh)
            {
                writer.AddTensor(p + "ffn_up.weight", [inner, d], T(WeightNames.Up(l)), matrixType);
                Bias(p + "ffn_up.bias", inner, WeightNames.Up(l));
            }
            else if (c.Fused)
            {
                writer.AddTensor(p + "ffn_up.weight", [2 * inner, d], [.. T(WeightNames.Gate(l)), .. T(WeightNames.Up(l))], matrixType);
            }
            else
            {
                writer.AddTensor(p + "ffn_gate.weight", [inner, d], T(WeightNames.Gate(l)), matrixType);
                writer.AddTensor(p + "ffn_up.weight", [inner, d], T(WeightNames.Up(l)), matrixType);
            }
            writer.AddTensor(p + "ffn_down.weight", [d, inner], T(WeightNames.Down(l)), matrixType);
            if (m.MlpBias) Bias(p + "ffn_down.bias", d, WeightNames.Down(l));
        }
        writer.Inner.Write(path);
        return path;
    }

    /// <summary>Vocabulary pieces: t0, t1, …, with Phi-3's end-of-turn token and SentencePiece's newline byte at the end.</summary>
    private static string TokenText(int i, int vocab) => (vocab - i) switch
    {
        1 => "<0x0A>",
        2 => "<|end|>",
        3 => "<|endoftext|>",
        _ => $"t{i}",
    };

    /// <summary>A GGUF writer where a case's own metadata replaces the common value of the same key.</summary>
    private sealed class OverridableWriter(Dictionary<string, object> overrides)
    {
        public GgufWriter Inner { get; } = new();

        public OverridableWriter AddMetadata(string key, object value)
        {
            if (!overrides.ContainsKey(key)) Inner.AddMetadata(key, value);
            return this;
        }

        public void AddOverrides()
        {
            foreach ((string key, object value) in overrides) Inner.AddMetadata(key, value);
        }

        public void AddTensor(string name, long[] shape, float[] data, GgufTensorType type = GgufTensorType.F32) => Inner.AddTensor(name, shape, data, type);
    }
}
