using QuickSilver.Engine.Models;

namespace QuickSilver.Engine.Loading;

public static partial class HuggingFaceLoader
{
    private static readonly HuggingFaceDecoderFamily GemmaBase = new()
    {
        ModelType = "gemma", FeedForward = FeedForwardKind.GeGlu, NormWeightOffset = 1f, ScaleEmbeddingBySqrtWidth = true,
        SlidingWindow = SlidingWindowRule.None, DefaultTiedEmbeddings = true,
    };

    /// <summary>The Llama-shaped model types this loader reads, keyed by config.json's model_type.</summary>
    private static readonly Dictionary<string, HuggingFaceDecoderFamily> DecoderFamilies = new(StringComparer.Ordinal)
    {
        ["llama"] = new() { ModelType = "llama", SlidingWindow = SlidingWindowRule.None },
        ["mistral"] = new() { ModelType = "mistral" },
        ["qwen2"] = new() { ModelType = "qwen2", DefaultAttentionBias = true, OutputProjectionUnbiased = true, SlidingWindow = SlidingWindowRule.QwenFromMaxWindowLayers },
        ["qwen3"] = new() { ModelType = "qwen3", QueryKeyNorm = true, SlidingWindow = SlidingWindowRule.QwenFromMaxWindowLayers },
        ["phi3"] = new() { ModelType = "phi3", DefaultNormEps = 1e-5f },
        ["gemma"] = GemmaBase,
        ["gemma2"] = GemmaBase with { ModelType = "gemma2", SandwichNorms = true, GemmaAttention = true, SlidingWindow = SlidingWindowRule.Alternating },
        ["gemma3_text"] = GemmaBase with
        {
            ModelType = "gemma3_text", SandwichNorms = true, GemmaAttention = true, QueryKeyNorm = true,
            SlidingWindow = SlidingWindowRule.Pattern, LocalRopeThetaField = "rope_local_base_freq",
        },
    };

    /// <summary>Fields that change the maths and that no family here implements: present and not neutral means rejection.</summary>
    private static void RejectUnsupported(JsonConfigReader reader, HuggingFaceDecoderFamily family)
    {
        foreach (string experts in new[] { "num_experts", "num_local_experts", "n_routed_experts" })
        {
            if (reader.OptionalInt(experts) is int count && count > 0)
                throw reader.Invalid(experts, $"is {count}; mixture-of-experts models are not supported.");
        }
        if (!family.GemmaAttention)
        {
            // Gemma 2's fields on another family: transformers ignores them there, but a config that sets them means them.
            foreach (string cap in new[] { "attn_logit_softcapping", "final_logit_softcapping" })
            {
                if (reader.OptionalFloat(cap) is float value && value != 0)
                    throw reader.Invalid(cap, $"is {value}; soft-capping is only implemented for Gemma 2/3.");
            }
        }
    }

    private static (ModelConfig, ConfigExtras) ParseDecoder(JsonConfigReader reader, HuggingFaceDecoderFamily family)
    {
        string modelType = family.ModelType;
        RejectUnsupported(reader, family);
        int hidden = reader.RequireInt("hidden_size");
        int heads = reader.RequireInt("num_attention_heads");
        int? headDim = reader.OptionalInt("head_dim");
        if (headDim is null && (heads <= 0 || hidden % heads != 0))
            throw reader.Invalid("hidden_size", $"({hidden}) must be a multiple of num_attention_heads ({heads}) when head_dim is absent.");
        CheckActivation(reader, family);

        int layers = reader.RequireInt("num_hidden_layers");
        int maxPositions = reader.RequireInt("max_position_embeddings");
        int width = headDim ?? hidden / heads;
        int rotaryDim = RotaryWidth(reader, width);
        (float theta, RopeScaling? scaling, float? localTheta) = HuggingFaceRopeScaling.Read(reader, rotaryDim, maxPositions,
            family.LocalRopeThetaField, family.LocalRopeThetaField is null ? null : 10000f);
        (int window, bool[]? localLayers) = SlidingWindowOf(reader, family, layers);

        bool? attentionBias = reader.OptionalBool("attention_bias") ?? (family.DefaultAttentionBias ? true : null);
        bool? mlpBias = reader.OptionalBool("mlp_bias");
        bool? tie = reader.OptionalBool("tie_word_embeddings") ?? (family.DefaultTiedEmbeddings ? true : null);
        float? queryScalar = family.GemmaAttention ? reader.OptionalFloat("query_pre_attn_scalar") : null;
        if (queryScalar is <= 0) throw reader.Invalid("query_pre_attn_scalar", $"({queryScalar}) must be positive.");
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
            RotaryDim = rotaryDim == width ? 0 : rotaryDim,
            RopeScaling = scaling,
            RopeLocalTheta = window > 0 ? localTheta : null,
            SlidingWindow = window,
            SlidingWindowLayers = localLayers,
            Norm = NormKind.RmsNorm,
            Positions = PositionEncodingKind.Rotary,
            FeedForward = family.FeedForward,
            AttentionBias = attentionBias ?? false,
            MlpBias = mlpBias ?? false,
            QueryKeyNorm = family.QueryKeyNorm,
            PostNorms = family.SandwichNorms,
            EmbeddingScale = family.ScaleEmbeddingBySqrtWidth ? MathF.Sqrt(hidden) : 1f,
            AttentionScale = queryScalar is float s ? 1f / MathF.Sqrt(s) : null,
            AttentionSoftCap = family.GemmaAttention ? reader.OptionalFloat("attn_logit_softcapping") ?? 0f : 0f,
            FinalLogitSoftCap = family.GemmaAttention ? reader.OptionalFloat("final_logit_softcapping") ?? 0f : 0f,
            TiedEmbeddings = tie ?? false,
            BosTokenId = reader.OptionalTokenId("bos_token_id") ?? -1,
            EosTokenId = reader.OptionalTokenId("eos_token_id") ?? -1,
        };
        return (config, new ConfigExtras(tie, attentionBias, mlpBias));
    }

    /// <summary>transformers' rotated width: int(head_dim · partial_rotary_factor), the factor at the root or in rope_parameters.</summary>
    private static int RotaryWidth(JsonConfigReader reader, int headDim)
    {
        float factor = reader.OptionalFloat("partial_rotary_factor") ?? reader.OptionalObject("rope_parameters")?.OptionalFloat("partial_rotary_factor") ?? 1f;
        int width = (int)(headDim * (double)factor);
        if (!(factor > 0 && factor <= 1) || width <= 0 || width % 2 != 0)
            throw reader.Invalid("partial_rotary_factor", $"is {factor}; the rotated width head_dim·factor = {headDim * (double)factor} must be a positive even integer.");
        return width;
    }

    /// <summary>SwiGLU families take hidden_act silu; GeGLU families hidden_activation (transformers' Gemma defaults it to the tanh GELU).</summary>
    private static void CheckActivation(JsonConfigReader reader, HuggingFaceDecoderFamily family)
    {
        if (family.FeedForward == FeedForwardKind.GeGlu)
        {
            string activation = reader.OptionalString("hidden_activation") ?? "gelu_pytorch_tanh";
            if (activation is not ("gelu_pytorch_tanh" or "gelu_new" or "gelu_fast"))
                throw reader.Invalid("hidden_activation", $"is '{activation}'; only the tanh GELU (gelu_pytorch_tanh) is supported for {family.ModelType}.");
            return;
        }
        string act = reader.OptionalString("hidden_act") ?? "silu";
        if (act is not ("silu" or "swish"))
            throw reader.Invalid("hidden_act", $"is '{act}'; only silu (SwiGLU) is supported for {family.ModelType}.");
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
            if (!local.Any(x => x) || window is null && family.SlidingWindow == SlidingWindowRule.QwenFromMaxWindowLayers) return (0, null);
            return (window ?? throw reader.Invalid("sliding_window", "is null but layer_types lists sliding_attention layers."), local);
        }
        if (window is null) return (0, null);
        bool[]? pattern = family.SlidingWindow switch
        {
            SlidingWindowRule.QwenFromMaxWindowLayers => Enumerable.Range(0, layers).Select(l => l >= (reader.OptionalInt("max_window_layers") ?? layers)).ToArray(),
            SlidingWindowRule.Alternating => Enumerable.Range(0, layers).Select(l => l % 2 == 0).ToArray(),
            SlidingWindowRule.Pattern => PatternOf(reader.OptionalInt("sliding_window_pattern") ?? 6),
            _ => null,
        };
        if (pattern is not null && !pattern.Any(x => x)) return (0, null);
        return (window.Value, pattern);

        bool[] PatternOf(int period) => period > 0
            ? Enumerable.Range(0, layers).Select(l => (l + 1) % period != 0).ToArray()
            : throw reader.Invalid("sliding_window_pattern", $"({period}) must be positive.");
    }
}
