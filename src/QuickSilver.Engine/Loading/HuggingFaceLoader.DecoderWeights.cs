using QuickSilver.Engine.Models;

namespace QuickSilver.Engine.Loading;

public static partial class HuggingFaceLoader
{
    /// <summary>
    /// transformers' names for the Llama-shaped families: separate or fused (Phi-3's qkv_proj, gate_up_proj) projections,
    /// Qwen3/Gemma 3 q_norm/k_norm, Gemma 2/3's four norms per layer, and Gemma's (1 + w) norm weights shifted by one.
    /// </summary>
    private static CheckpointData LoadDecoder(SafetensorsCheckpoint checkpoint, ModelConfig config, ConfigExtras extras, HuggingFaceDecoderFamily family,
        string folder, Dictionary<string, string> metadata, bool keepHalfPrecision)
    {
        string prefix = checkpoint.Contains("model.embed_tokens.weight") || !checkpoint.Contains("embed_tokens.weight") ? "model." : "";
        bool tied = extras.TieWordEmbeddings == true || !checkpoint.Contains("lm_head.weight");
        bool attentionBiasInFile = checkpoint.TensorNames.Any(n => n.Contains(".self_attn.", StringComparison.Ordinal) && n.EndsWith("_proj.bias", StringComparison.Ordinal));
        bool mlpBiasInFile = checkpoint.TensorNames.Any(n => n.Contains(".mlp.", StringComparison.Ordinal) && n.EndsWith("_proj.bias", StringComparison.Ordinal));
        config = config with
        {
            TiedEmbeddings = tied,
            AttentionBias = config.AttentionBias || attentionBiasInFile,
            MlpBias = config.MlpBias || mlpBiasInFile,
        };

        var builder = new CheckpointBuilder(config, folder);
        long d = config.HiddenSize, inner = config.IntermediateSize, hs = config.HeadDim;
        long qRows = (long)config.NumHeads * config.HeadDim, kvRows = (long)config.NumKvHeads * config.HeadDim;
        bool biasRequired = extras.AttentionBias == true;

        Matrix(prefix + "embed_tokens.weight", WeightNames.Embedding, config.VocabSize, d);
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            string p = $"{prefix}layers.{layer}.";
            Norm(p + "input_layernorm.weight", WeightNames.AttnNormWeight(layer), d);
            if (checkpoint.Contains(p + "self_attn.qkv_proj.weight"))
            {
                // Phi-3: one [q | k | v] matrix.
                Split(p + "self_attn.qkv_proj.weight", d, (WeightNames.Query(layer), qRows), (WeightNames.Key(layer), kvRows), (WeightNames.Value(layer), kvRows));
                if (config.AttentionBias)
                    throw new ModelFormatException(checkpoint.FileOf(p + "self_attn.qkv_proj.weight"), "fused qkv_proj with biases is not supported.");
            }
            else
            {
                Projection(p + "self_attn.q_proj", WeightNames.Query(layer), qRows, d, config.AttentionBias, biasRequired);
                Projection(p + "self_attn.k_proj", WeightNames.Key(layer), kvRows, d, config.AttentionBias, biasRequired);
                Projection(p + "self_attn.v_proj", WeightNames.Value(layer), kvRows, d, config.AttentionBias, biasRequired);
            }
            // Qwen2 carries q/k/v biases but never an o_proj bias; a zero bias is the same function.
            Projection(p + "self_attn.o_proj", WeightNames.Output(layer), d, qRows, config.AttentionBias, biasRequired && !family.OutputProjectionUnbiased);
            if (config.QueryKeyNorm)
            {
                Norm(p + "self_attn.q_norm.weight", WeightNames.QueryNorm(layer), hs);
                Norm(p + "self_attn.k_norm.weight", WeightNames.KeyNorm(layer), hs);
            }
            if (family.SandwichNorms)
            {
                // Gemma 2/3: post_attention_layernorm is the attention output's norm; pre_feedforward_layernorm the MLP input's.
                Norm(p + "post_attention_layernorm.weight", WeightNames.PostAttnNorm(layer), d);
                Norm(p + "pre_feedforward_layernorm.weight", WeightNames.MlpNormWeight(layer), d);
                Norm(p + "post_feedforward_layernorm.weight", WeightNames.PostMlpNorm(layer), d);
            }
            else
            {
                Norm(p + "post_attention_layernorm.weight", WeightNames.MlpNormWeight(layer), d);
            }
            if (checkpoint.Contains(p + "mlp.gate_up_proj.weight"))
            {
                // Phi-3: one [gate | up] matrix; transformers chunks it gate first.
                Split(p + "mlp.gate_up_proj.weight", d, (WeightNames.Gate(layer), inner), (WeightNames.Up(layer), inner));
                if (config.MlpBias) throw new ModelFormatException(checkpoint.FileOf(p + "mlp.gate_up_proj.weight"), "fused gate_up_proj with biases is not supported.");
            }
            else
            {
                Projection(p + "mlp.gate_proj", WeightNames.Gate(layer), inner, d, config.MlpBias, extras.MlpBias == true);
                Projection(p + "mlp.up_proj", WeightNames.Up(layer), inner, d, config.MlpBias, extras.MlpBias == true);
            }
            Projection(p + "mlp.down_proj", WeightNames.Down(layer), d, inner, config.MlpBias, extras.MlpBias == true);
        }
        Norm(prefix + "norm.weight", WeightNames.FinalNormWeight, d);
        if (!tied) Matrix("lm_head.weight", WeightNames.LmHead, config.VocabSize, d);
        return builder.Build(tokenizer: null, metadata);

        // A matrix as stored: 16-bit blocks when asked and stored so, float32 otherwise.
        void Matrix(string source, string target, long rows, long columns)
        {
            if (keepHalfPrecision && checkpoint.Contains(source))
            {
                CheckpointBuilder.ExpectShape(checkpoint.FileOf(source), source, [rows, columns], checkpoint.GetInfo(source).Shape);
                if (checkpoint.ReadHalfMatrix(source) is { } half)
                {
                    builder.Add(new HostTensor(target, [rows, columns], half));
                    return;
                }
            }
            builder.Add(target, [rows, columns], Read(checkpoint, source, [rows, columns]));
        }

        void Norm(string source, string target, long size)
        {
            float[] weight = Read(checkpoint, source, [size]);
            if (family.NormWeightOffset != 0)
            {
                for (int i = 0; i < weight.Length; i++) weight[i] += family.NormWeightOffset;
            }
            builder.Add(target, [size], weight);
        }

        void Projection(string source, string target, long rows, long columns, bool withBias, bool required)
        {
            Matrix(source + ".weight", target, rows, columns);
            if (!withBias) return;
            string biasName = source + ".bias";
            float[] bias = checkpoint.Contains(biasName) || required ? Read(checkpoint, biasName, [rows]) : new float[rows];
            builder.Add(WeightNames.BiasOf(target), [rows], bias);
        }

        void Split(string source, long columns, params (string Target, long Rows)[] parts)
        {
            float[] all = Read(checkpoint, source, [parts.Sum(part => part.Rows), columns]);
            long offset = 0;
            foreach ((string target, long rows) in parts)
            {
                builder.Add(target, [rows, columns], all.AsSpan((int)(offset * columns), (int)(rows * columns)).ToArray());
                offset += rows;
            }
        }
    }
}
