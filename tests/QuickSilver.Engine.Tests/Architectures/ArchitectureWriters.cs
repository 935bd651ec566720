using System.Text.Json;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Tests.Loading;
using QuickSilver.Testing.Conformance;

namespace QuickSilver.Engine.Tests.Architectures;

/// <summary>
/// Writes canonical weights as a GGUF with the names and metadata llama.cpp's convert_hf_to_gguf.py writes, and as a
/// Hugging Face folder with transformers' names and config.json fields. Written from those formats, not from our loaders.
/// </summary>
internal static class ArchitectureWriters
{
    /// <summary>The GGUF as llama.cpp's converter writes it (see <see cref="ArchitectureGgufWriter"/>).</summary>
    public static string WriteGguf(ArchitectureCase c, CheckpointData w, string path, GgufTensorType matrixType = GgufTensorType.F32) =>
        ArchitectureGgufWriter.Write(c, w, path, matrixType);

    /// <summary>The folder as transformers saves it: config.json and model.safetensors (GPT-2 with its Conv1D layout).</summary>
    public static string WriteHfFolder(ArchitectureCase c, CheckpointData w, string folder)
    {
        ModelConfig m = c.Config;
        Directory.CreateDirectory(folder);
        if (m.Norm == NormKind.LayerNorm) return WriteGpt2HfFolder(c, w, folder);
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

    /// <summary>
    /// GPT-2 as transformers saves GPT2LMHeadModel: Conv1D weights stored [in, out] (c_attn holding q | k | v columns),
    /// LayerNorm ln_1/ln_2/ln_f with biases, wte/wpe, and an lm_head only when untied; n_inner given explicitly.
    /// </summary>
    private static string WriteGpt2HfFolder(ArchitectureCase c, CheckpointData w, string folder)
    {
        ModelConfig m = c.Config;
        int d = m.HiddenSize, inner = m.IntermediateSize;
        var config = new Dictionary<string, object?>
        {
            ["model_type"] = "gpt2", ["n_embd"] = d, ["n_layer"] = m.NumLayers, ["n_head"] = m.NumHeads, ["n_inner"] = inner,
            ["n_positions"] = m.MaxPositions, ["n_ctx"] = m.MaxPositions, ["vocab_size"] = m.VocabSize, ["layer_norm_epsilon"] = m.NormEps,
            ["activation_function"] = "gelu_new", ["tie_word_embeddings"] = m.TiedEmbeddings, ["bos_token_id"] = 1, ["eos_token_id"] = 2,
        };
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(config));
        float[] T(string name) => w.Tensors[name].Data;
        var entries = new List<SafetensorsTestWriter.Entry>();
        void Add(string name, long[] shape, float[] data) => entries.Add(SafetensorsTestWriter.F32(name, shape, data));
        // Conv1D keeps [in, out]: the transpose of the canonical [out, in].
        void Conv1D(string name, int rows, int columns, float[] weight, float[] bias)
        {
            var transposed = new float[weight.Length];
            for (int r = 0; r < rows; r++)
                for (int col = 0; col < columns; col++) transposed[(col * rows) + r] = weight[(r * columns) + col];
            Add(name + ".weight", [columns, rows], transposed);
            Add(name + ".bias", [rows], bias);
        }
        Add("transformer.wte.weight", [m.VocabSize, d], T(WeightNames.Embedding));
        Add("transformer.wpe.weight", [m.MaxPositions, d], T(WeightNames.PositionEmbedding));
        for (int l = 0; l < m.NumLayers; l++)
        {
            string p = $"transformer.h.{l}.";
            Add(p + "ln_1.weight", [d], T(WeightNames.AttnNormWeight(l)));
            Add(p + "ln_1.bias", [d], T(WeightNames.AttnNormBias(l)));
            Conv1D(p + "attn.c_attn", 3 * d, d, [.. T(WeightNames.Query(l)), .. T(WeightNames.Key(l)), .. T(WeightNames.Value(l))],
                [.. T(WeightNames.BiasOf(WeightNames.Query(l))), .. T(WeightNames.BiasOf(WeightNames.Key(l))), .. T(WeightNames.BiasOf(WeightNames.Value(l)))]);
            Conv1D(p + "attn.c_proj", d, d, T(WeightNames.Output(l)), T(WeightNames.BiasOf(WeightNames.Output(l))));
            Add(p + "ln_2.weight", [d], T(WeightNames.MlpNormWeight(l)));
            Add(p + "ln_2.bias", [d], T(WeightNames.MlpNormBias(l)));
            Conv1D(p + "mlp.c_fc", inner, d, T(WeightNames.Up(l)), T(WeightNames.BiasOf(WeightNames.Up(l))));
            Conv1D(p + "mlp.c_proj", d, inner, T(WeightNames.Down(l)), T(WeightNames.BiasOf(WeightNames.Down(l))));
        }
        Add("transformer.ln_f.weight", [d], T(WeightNames.FinalNormWeight));
        Add("transformer.ln_f.bias", [d], T(WeightNames.FinalNormBias));
        if (!m.TiedEmbeddings) Add("lm_head.weight", [m.VocabSize, d], T(WeightNames.LmHead));
        SafetensorsTestWriter.Write(Path.Combine(folder, "model.safetensors"), entries);
        return folder;
    }
}
