using QuickSilver.Engine.Models;

namespace QuickSilver.Engine.Loading;

public static partial class HuggingFaceLoader
{
    /// <summary>The Llama-shaped model types this loader reads, keyed by config.json's model_type.</summary>
    private static readonly Dictionary<string, HuggingFaceDecoderFamily> DecoderFamilies = new(StringComparer.Ordinal)
    {
        ["llama"] = new() { ModelType = "llama", SlidingWindow = SlidingWindowRule.None },
        ["mistral"] = new() { ModelType = "mistral" },
        ["qwen2"] = new() { ModelType = "qwen2", DefaultAttentionBias = true, OutputProjectionUnbiased = true, SlidingWindow = SlidingWindowRule.QwenFromMaxWindowLayers },
        ["qwen3"] = new() { ModelType = "qwen3", QueryKeyNorm = true, SlidingWindow = SlidingWindowRule.QwenFromMaxWindowLayers },
    };

    /// <summary>Fields that change the maths and that no family here implements: present and not neutral means rejection.</summary>
    private static void RejectUnsupported(JsonConfigReader reader)
    {
        if (reader.OptionalFloat("partial_rotary_factor") is float partial && partial != 1f)
            throw reader.Invalid("partial_rotary_factor", $"is {partial}; partial rotary embeddings are not supported.");
        foreach (string experts in new[] { "num_experts", "num_local_experts", "n_routed_experts" })
        {
            if (reader.OptionalInt(experts) is int count && count > 0)
                throw reader.Invalid(experts, $"is {count}; mixture-of-experts models are not supported.");
        }
    }

    private static (ModelConfig, ConfigExtras) ParseDecoder(JsonConfigReader reader, HuggingFaceDecoderFamily family)
    {
        string modelType = family.ModelType;
        RejectUnsupported(reader);
        int hidden = reader.RequireInt("hidden_size");
        int heads = reader.RequireInt("num_attention_heads");
        int? headDim = reader.OptionalInt("head_dim");
        if (headDim is null && (heads <= 0 || hidden % heads != 0))
            throw reader.Invalid("hidden_size", $"({hidden}) must be a multiple of num_attention_heads ({heads}) when head_dim is absent.");
        string activation = reader.OptionalString("hidden_act") ?? "silu";
        if (activation is not ("silu" or "swish"))
            throw reader.Invalid("hidden_act", $"is '{activation}'; only silu (SwiGLU) is supported for {modelType}.");

        int layers = reader.RequireInt("num_hidden_layers");
        int maxPositions = reader.RequireInt("max_position_embeddings");
        int width = headDim ?? hidden / heads;
        float theta = reader.OptionalFloat("rope_theta") ?? 10000f;
        (int window, bool[]? localLayers) = SlidingWindowOf(reader, family, layers);

        bool? attentionBias = reader.OptionalBool("attention_bias") ?? (family.DefaultAttentionBias ? true : null);
        bool? mlpBias = reader.OptionalBool("mlp_bias");
        bool? tie = reader.OptionalBool("tie_word_embeddings");
        var config = new ModelConfig
        {
            Architecture = modelType,
            VocabSize = reader.RequireInt("vocab_size"),
            HiddenSize = hidden,
            NumLayers = layers,
            NumHeads = heads,
            NumKvHeads = reader.OptionalInt("num_key_value_heads") ?? heads,
            HeadDim = width,
            IntermediateSize = reader.RequireInt("intermediate_size"),
            MaxPositions = maxPositions,
            NormEps = reader.OptionalFloat("rms_norm_eps") ?? family.DefaultNormEps,
            RopeTheta = theta,
            RopeScaling = HuggingFaceRopeScaling.Read(reader, width, theta, maxPositions),
            SlidingWindow = window,
            SlidingWindowLayers = localLayers,
            Norm = NormKind.RmsNorm,
            Positions = PositionEncodingKind.Rotary,
            FeedForward = family.FeedForward,
            AttentionBias = attentionBias ?? false,
            MlpBias = mlpBias ?? false,
            QueryKeyNorm = family.QueryKeyNorm,
            TiedEmbeddings = tie ?? false,
            BosTokenId = reader.OptionalTokenId("bos_token_id") ?? -1,
            EosTokenId = reader.OptionalTokenId("eos_token_id") ?? -1,
        };
        return (config, new ConfigExtras(tie, attentionBias, mlpBias));
    }

    /// <summary>
    /// The window and which layers use it: <c>layer_types</c> when given (transformers ≥ 4.53 writes it), else the family's rule.
    /// A window at least as long as the context changes nothing, but is still applied: the rule, not the size, decides.
    /// </summary>
    private static (int Window, bool[]? LocalLayers) SlidingWindowOf(JsonConfigReader reader, HuggingFaceDecoderFamily family, int layers)
    {
        if (family.SlidingWindow == SlidingWindowRule.None) return (0, null);
        int? window = reader.OptionalInt("sliding_window");
        if (window is <= 0) throw reader.Invalid("sliding_window", $"({window}) must be positive or null.");
        bool? use = reader.OptionalBool("use_sliding_window");
        if (family.SlidingWindow == SlidingWindowRule.QwenFromMaxWindowLayers && use != true) window = null;

        string[]? types = reader.OptionalStringArray("layer_types");
        if (types is not null)
        {
            if (types.Length != layers) throw reader.Invalid("layer_types", $"lists {types.Length} layers but num_hidden_layers is {layers}.");
            bool[] local = new bool[layers];
            for (int l = 0; l < layers; l++)
            {
                local[l] = types[l] switch
                {
                    "sliding_attention" => true,
                    "full_attention" => false,
                    _ => throw reader.Invalid("layer_types", $"has '{types[l]}' at layer {l}; only sliding_attention and full_attention are supported."),
                };
            }
            if (!local.Any(x => x)) return (0, null);
            return (window ?? throw reader.Invalid("sliding_window", "is null but layer_types lists sliding_attention layers."), local);
        }
        if (window is null) return (0, null);
        if (family.SlidingWindow == SlidingWindowRule.QwenFromMaxWindowLayers)
        {
            int first = reader.OptionalInt("max_window_layers") ?? layers;
            bool[] local = Enumerable.Range(0, layers).Select(l => l >= first).ToArray();
            return local.Any(x => x) ? (window.Value, local) : (0, null);
        }
        return (window.Value, null);
    }

    private static CheckpointData LoadDecoder(SafetensorsCheckpoint checkpoint, ModelConfig config, ConfigExtras extras, HuggingFaceDecoderFamily family,
        string folder, Dictionary<string, string> metadata)
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

        builder.Add(WeightNames.Embedding, [config.VocabSize, d], Read(checkpoint, prefix + "embed_tokens.weight", [config.VocabSize, d]));
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            string p = $"{prefix}layers.{layer}.";
            builder.Add(WeightNames.AttnNormWeight(layer), [d], Read(checkpoint, p + "input_layernorm.weight", [d]));
            Projection(p + "self_attn.q_proj", WeightNames.Query(layer), qRows, d, config.AttentionBias, biasRequired);
            Projection(p + "self_attn.k_proj", WeightNames.Key(layer), kvRows, d, config.AttentionBias, biasRequired);
            Projection(p + "self_attn.v_proj", WeightNames.Value(layer), kvRows, d, config.AttentionBias, biasRequired);
            // Qwen2 carries q/k/v biases but never an o_proj bias; a zero bias is the same function.
            Projection(p + "self_attn.o_proj", WeightNames.Output(layer), d, qRows, config.AttentionBias, biasRequired && !family.OutputProjectionUnbiased);
            if (config.QueryKeyNorm)
            {
                builder.Add(WeightNames.QueryNorm(layer), [hs], Read(checkpoint, p + "self_attn.q_norm.weight", [hs]));
                builder.Add(WeightNames.KeyNorm(layer), [hs], Read(checkpoint, p + "self_attn.k_norm.weight", [hs]));
            }
            builder.Add(WeightNames.MlpNormWeight(layer), [d], Read(checkpoint, p + "post_attention_layernorm.weight", [d]));
            Projection(p + "mlp.gate_proj", WeightNames.Gate(layer), inner, d, config.MlpBias, extras.MlpBias == true);
            Projection(p + "mlp.up_proj", WeightNames.Up(layer), inner, d, config.MlpBias, extras.MlpBias == true);
            Projection(p + "mlp.down_proj", WeightNames.Down(layer), d, inner, config.MlpBias, extras.MlpBias == true);
        }
        builder.Add(WeightNames.FinalNormWeight, [d], Read(checkpoint, prefix + "norm.weight", [d]));
        if (!tied) builder.Add(WeightNames.LmHead, [config.VocabSize, d], Read(checkpoint, "lm_head.weight", [config.VocabSize, d]));
        return builder.Build(tokenizer: null, metadata);

        void Projection(string source, string target, long rows, long columns, bool withBias, bool required)
        {
            builder.Add(target, [rows, columns], Read(checkpoint, source + ".weight", [rows, columns]));
            if (!withBias) return;
            string biasName = source + ".bias";
            float[] bias = checkpoint.Contains(biasName) || required ? Read(checkpoint, biasName, [rows]) : new float[rows];
            builder.Add(WeightNames.BiasOf(target), [rows], bias);
        }
    }
}
