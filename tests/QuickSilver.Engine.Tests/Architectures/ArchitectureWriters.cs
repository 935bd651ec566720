using System.Text.Json;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Tests.Loading;

namespace QuickSilver.Engine.Tests.Architectures;

/// <summary>
/// Writes canonical weights as a GGUF with the names and metadata llama.cpp's convert_hf_to_gguf.py writes, and as a
/// Hugging Face folder with transformers' names and config.json fields. Written from those formats, not from our loaders.
/// </summary>
internal static class ArchitectureWriters
{
    /// <summary>llama.cpp runs these with adjacent-pair RoPE, so its converter permutes q/k rows.</summary>
    private static readonly HashSet<string> InterleavedGguf = ["llama"];

    public static string WriteGguf(ArchitectureCase c, CheckpointData w, string path, GgufTensorType matrixType = GgufTensorType.F32)
    {
        ModelConfig m = c.Config;
        string a = c.GgufArchitecture;
        bool interleaved = InterleavedGguf.Contains(a);
        var writer = new OverridableWriter(c.GgufMetadata.ToDictionary(p => a + "." + p.Key, p => p.Value))
            .AddMetadata("general.architecture", a)
            .AddMetadata("general.name", "tiny")
            .AddMetadata(a + ".context_length", (uint)m.MaxPositions)
            .AddMetadata(a + ".embedding_length", (uint)m.HiddenSize)
            .AddMetadata(a + ".feed_forward_length", (uint)m.IntermediateSize)
            .AddMetadata(a + ".block_count", (uint)m.NumLayers)
            .AddMetadata(a + ".attention.head_count", (uint)m.NumHeads)
            .AddMetadata(a + ".attention.head_count_kv", (uint)m.NumKvHeads)
            .AddMetadata(a + ".rope.dimension_count", (uint)m.RotatedWidth)
            .AddMetadata(a + ".rope.freq_base", m.RopeTheta)
            .AddMetadata(a + ".attention.layer_norm_rms_epsilon", m.NormEps)
            .AddMetadata("tokenizer.ggml.model", "llama")
            // The last token is SentencePiece's newline byte: llama.cpp looks it up when loading some architectures (phi3).
            .AddMetadata("tokenizer.ggml.tokens", Enumerable.Range(0, m.VocabSize).Select(i => TokenText(i, m.VocabSize)).ToArray())
            .AddMetadata("tokenizer.ggml.scores", Enumerable.Range(0, m.VocabSize).Select(i => -(float)i).ToArray())
            .AddMetadata("tokenizer.ggml.token_type", Enumerable.Range(0, m.VocabSize).Select(i => i == m.VocabSize - 1 ? 6 : 1).ToArray())
            .AddMetadata("tokenizer.ggml.bos_token_id", 1u)
            .AddMetadata("tokenizer.ggml.eos_token_id", 2u);
        if (m.HeadDim * m.NumHeads != m.HiddenSize)
        {
            writer.AddMetadata(a + ".attention.key_length", (uint)m.HeadDim);
            writer.AddMetadata(a + ".attention.value_length", (uint)m.HeadDim);
        }
        if (m.SlidingWindow > 0) writer.AddMetadata(a + ".attention.sliding_window", (uint)m.SlidingWindow);
        writer.AddOverrides();
        if (c.HfConfig.TryGetValue("rope_scaling", out object? scaling) && scaling is Dictionary<string, object> s && s.TryGetValue("rope_type", out object? type) && (string)type == "llama3")
            writer.AddTensor("rope_freqs.weight", [m.RotatedWidth / 2], m.RopeScaling!.FrequencyFactors!);
        if (m.RopeScaling?.LongFrequencyFactors is { } longFactors)
        {
            // convert_hf_to_gguf.py's Phi3MiniModel: both factor lists as tensors, plus attn_factor and the original context.
            writer.AddTensor("rope_factors_long.weight", [m.RotatedWidth / 2], longFactors);
            writer.AddTensor("rope_factors_short.weight", [m.RotatedWidth / 2], m.RopeScaling.FrequencyFactors!);
        }

        float[] T(string name) => w.Tensors[name].Data;
        float[] Rows(float[] rows, int heads, int columns) => interleaved ? RopePermutation.RotateHalfToInterleaved(rows, heads, m.HeadDim, columns) : rows;
        int d = m.HiddenSize, qd = m.NumHeads * m.HeadDim, kvd = m.NumKvHeads * m.HeadDim, inner = m.IntermediateSize;

        writer.AddTensor("token_embd.weight", [m.VocabSize, d], T(WeightNames.Embedding), matrixType);
        writer.AddTensor("output_norm.weight", [d], T(WeightNames.FinalNormWeight));
        if (!m.TiedEmbeddings) writer.AddTensor("output.weight", [m.VocabSize, d], T(WeightNames.LmHead), matrixType);
        for (int l = 0; l < m.NumLayers; l++)
        {
            string p = $"blk.{l}.";
            writer.AddTensor(p + "attn_norm.weight", [d], T(WeightNames.AttnNormWeight(l)));
            if (c.Fused)
            {
                writer.AddTensor(p + "attn_qkv.weight", [qd + (2 * kvd), d], [.. T(WeightNames.Query(l)), .. T(WeightNames.Key(l)), .. T(WeightNames.Value(l))], matrixType);
            }
            else
            {
                writer.AddTensor(p + "attn_q.weight", [qd, d], Rows(T(WeightNames.Query(l)), m.NumHeads, d), matrixType);
                writer.AddTensor(p + "attn_k.weight", [kvd, d], Rows(T(WeightNames.Key(l)), m.NumKvHeads, d), matrixType);
                writer.AddTensor(p + "attn_v.weight", [kvd, d], T(WeightNames.Value(l)), matrixType);
            }
            writer.AddTensor(p + "attn_output.weight", [d, qd], T(WeightNames.Output(l)), matrixType);
            if (m.AttentionBias)
            {
                writer.AddTensor(p + "attn_q.bias", [qd], Rows(T(WeightNames.BiasOf(WeightNames.Query(l))), m.NumHeads, 1));
                writer.AddTensor(p + "attn_k.bias", [kvd], Rows(T(WeightNames.BiasOf(WeightNames.Key(l))), m.NumKvHeads, 1));
                writer.AddTensor(p + "attn_v.bias", [kvd], T(WeightNames.BiasOf(WeightNames.Value(l))));
            }
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
            writer.AddTensor(p + "ffn_norm.weight", [d], T(WeightNames.MlpNormWeight(l)));
            if (c.Fused)
            {
                writer.AddTensor(p + "ffn_up.weight", [2 * inner, d], [.. T(WeightNames.Gate(l)), .. T(WeightNames.Up(l))], matrixType);
            }
            else
            {
                writer.AddTensor(p + "ffn_gate.weight", [inner, d], T(WeightNames.Gate(l)), matrixType);
                writer.AddTensor(p + "ffn_up.weight", [inner, d], T(WeightNames.Up(l)), matrixType);
            }
            writer.AddTensor(p + "ffn_down.weight", [d, inner], T(WeightNames.Down(l)), matrixType);
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

    public static string WriteHfFolder(ArchitectureCase c, CheckpointData w, string folder)
    {
        ModelConfig m = c.Config;
        Directory.CreateDirectory(folder);
        var config = new Dictionary<string, object?>
        {
            ["model_type"] = c.HfModelType,
            ["hidden_size"] = m.HiddenSize,
            ["intermediate_size"] = m.IntermediateSize,
            ["num_hidden_layers"] = m.NumLayers,
            ["num_attention_heads"] = m.NumHeads,
            ["num_key_value_heads"] = m.NumKvHeads,
            ["head_dim"] = m.HeadDim,
            ["vocab_size"] = m.VocabSize,
            ["max_position_embeddings"] = m.MaxPositions,
            ["rms_norm_eps"] = m.NormEps,
            ["rope_theta"] = m.RopeTheta,
            ["hidden_act"] = m.FeedForward == FeedForwardKind.GeGlu ? "gelu_pytorch_tanh" : "silu",
            ["tie_word_embeddings"] = m.TiedEmbeddings,
            ["bos_token_id"] = 1,
            ["eos_token_id"] = 2,
        };
        foreach ((string key, object? value) in c.HfConfig) config[key] = value;
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(config));

        var entries = new List<SafetensorsTestWriter.Entry>();
        void Add(string name, string canonical) => entries.Add(SafetensorsTestWriter.F32(name, w.Tensors[canonical].Shape, w.Tensors[canonical].Data));
        void Norm(string name, string canonical) =>
            entries.Add(SafetensorsTestWriter.F32(name, w.Tensors[canonical].Shape, w.Tensors[canonical].Data.Select(v => v - c.HfNormOffset).ToArray()));
        void Fuse(string name, params string[] canonical) =>
            entries.Add(SafetensorsTestWriter.F32(name, [canonical.Sum(n => w.Tensors[n].Shape[0]), m.HiddenSize], [.. canonical.SelectMany(n => w.Tensors[n].Data)]));
        Add("model.embed_tokens.weight", WeightNames.Embedding);
        for (int l = 0; l < m.NumLayers; l++)
        {
            string p = $"model.layers.{l}.";
            Norm(p + "input_layernorm.weight", WeightNames.AttnNormWeight(l));
            if (c.Fused)
            {
                Fuse(p + "self_attn.qkv_proj.weight", WeightNames.Query(l), WeightNames.Key(l), WeightNames.Value(l));
            }
            else
            {
                Add(p + "self_attn.q_proj.weight", WeightNames.Query(l));
                Add(p + "self_attn.k_proj.weight", WeightNames.Key(l));
                Add(p + "self_attn.v_proj.weight", WeightNames.Value(l));
            }
            Add(p + "self_attn.o_proj.weight", WeightNames.Output(l));
            if (m.AttentionBias)
            {
                Add(p + "self_attn.q_proj.bias", WeightNames.BiasOf(WeightNames.Query(l)));
                Add(p + "self_attn.k_proj.bias", WeightNames.BiasOf(WeightNames.Key(l)));
                Add(p + "self_attn.v_proj.bias", WeightNames.BiasOf(WeightNames.Value(l)));
            }
            if (m.QueryKeyNorm)
            {
                Norm(p + "self_attn.q_norm.weight", WeightNames.QueryNorm(l));
                Norm(p + "self_attn.k_norm.weight", WeightNames.KeyNorm(l));
            }
            if (m.PostNorms)
            {
                Norm(p + "post_attention_layernorm.weight", WeightNames.PostAttnNorm(l));
                Norm(p + "pre_feedforward_layernorm.weight", WeightNames.MlpNormWeight(l));
                Norm(p + "post_feedforward_layernorm.weight", WeightNames.PostMlpNorm(l));
            }
            else
            {
                Norm(p + "post_attention_layernorm.weight", WeightNames.MlpNormWeight(l));
            }
            if (c.Fused)
            {
                Fuse(p + "mlp.gate_up_proj.weight", WeightNames.Gate(l), WeightNames.Up(l));
            }
            else
            {
                Add(p + "mlp.gate_proj.weight", WeightNames.Gate(l));
                Add(p + "mlp.up_proj.weight", WeightNames.Up(l));
            }
            Add(p + "mlp.down_proj.weight", WeightNames.Down(l));
        }
        Norm("model.norm.weight", WeightNames.FinalNormWeight);
        if (!m.TiedEmbeddings) Add("lm_head.weight", WeightNames.LmHead);
        SafetensorsTestWriter.Write(Path.Combine(folder, "model.safetensors"), entries);
        return folder;
    }
}
