using QuickSilver.Engine.Models;

namespace QuickSilver.Engine.Tests.Architectures;

/// <summary>Tiny random-weight variants of every supported architecture, with the metadata their real checkpoints carry.</summary>
internal static class TinyArchitectures
{
    /// <summary>A Llama-shaped tiny config: V 64, d 64, 3 layers, 4 heads over 2 KV heads of 16, MLP 96, 64 positions.</summary>
    public static ModelConfig Base(string architecture) => new()
    {
        Architecture = architecture, VocabSize = 64, HiddenSize = 64, NumLayers = 3, NumHeads = 4, NumKvHeads = 2, HeadDim = 16,
        IntermediateSize = 96, MaxPositions = 64, NormEps = 1e-5f, RopeTheta = 10000f, Norm = NormKind.RmsNorm,
        Positions = PositionEncodingKind.Rotary, FeedForward = FeedForwardKind.SwiGlu, BosTokenId = 1, EosTokenId = 2,
    };

    /// <summary>Llama 3.1's rope_scaling, with the original context shrunk to 16 so that tiny prompts cross every band.</summary>
    public static Dictionary<string, object> Llama3Scaling() => new()
    {
        ["rope_type"] = "llama3", ["factor"] = 8.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0, ["original_max_position_embeddings"] = 16,
    };

    public static ArchitectureCase Llama2 { get; } = new() { Name = "llama2", GgufArchitecture = "llama", HfModelType = "llama", Config = Base("llama") };

    public static ArchitectureCase Llama31 { get; } = new()
    {
        Name = "llama3.1", GgufArchitecture = "llama", HfModelType = "llama",
        Config = Base("llama") with
        {
            RopeTheta = 500000f,
            RopeScaling = new RopeScaling { Type = "llama3", FrequencyFactors = RopeScaling.Llama3Factors(16, 500000, 8, 1, 4, 16) },
        },
        HfConfig = new Dictionary<string, object?> { ["rope_scaling"] = Llama3Scaling() },
    };

    public static ArchitectureCase LlamaLinear { get; } = new()
    {
        Name = "llama-linear", GgufArchitecture = "llama", HfModelType = "llama",
        Config = Base("llama") with { RopeScaling = new RopeScaling { Type = "linear", PositionScale = 0.25 } },
        GgufMetadata = new Dictionary<string, object> { ["rope.scaling.type"] = "linear", ["rope.scaling.factor"] = 4f },
        HfConfig = new Dictionary<string, object?> { ["rope_scaling"] = new Dictionary<string, object> { ["rope_type"] = "linear", ["factor"] = 4.0 } },
    };

    public static ArchitectureCase SmolLm2 { get; } = new()
    {
        Name = "smollm2", GgufArchitecture = "llama", HfModelType = "llama",
        Config = Base("llama") with { RopeTheta = 100000f, TiedEmbeddings = true },
    };

    public static ArchitectureCase Mistral { get; } = new()
    {
        Name = "mistral", GgufArchitecture = "llama", HfModelType = "mistral",
        Config = Base("llama") with { SlidingWindow = 8 },
        HfConfig = new Dictionary<string, object?> { ["sliding_window"] = 8 },
        LlamaCppAppliesWindow = false,
    };

    public static ArchitectureCase Qwen2 { get; } = new()
    {
        Name = "qwen2", GgufArchitecture = "qwen2", HfModelType = "qwen2",
        Config = Base("qwen2") with { RopeTheta = 1000000f, AttentionBias = true, TiedEmbeddings = true, NormEps = 1e-6f },
        HfConfig = new Dictionary<string, object?> { ["use_sliding_window"] = false, ["sliding_window"] = 32, ["max_window_layers"] = 2 },
    };

    public static ArchitectureCase Qwen3 { get; } = new()
    {
        Name = "qwen3", GgufArchitecture = "qwen3", HfModelType = "qwen3",
        Config = Base("qwen3") with { HeadDim = 32, RopeTheta = 1000000f, QueryKeyNorm = true, NormEps = 1e-6f },
        HfConfig = new Dictionary<string, object?> { ["attention_bias"] = false },
    };

    private static float[] Factors(int count, float low, float high, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(i => low + ((high - low) * i / Math.Max(1, count - 1)) + (0.05f * (float)random.NextDouble())).ToArray();
    }

    /// <summary>Phi-3.5-mini's shape of longrope: 64 positions over an original 16, so the long factors and √(1 + ln 4 / ln 16) apply.</summary>
    private static (ModelConfig Config, Dictionary<string, object?> Hf, Dictionary<string, object> Gguf) Phi(int rotaryDim, bool tied)
    {
        float[] shortFactors = Factors(rotaryDim / 2, 1.0f, 1.2f, 1), longFactors = Factors(rotaryDim / 2, 1.0f, 6f, 2);
        double attention = Math.Sqrt(1 + (Math.Log(64.0 / 16) / Math.Log(16)));
        var config = Base("phi3") with
        {
            RotaryDim = rotaryDim == 16 ? 0 : rotaryDim, TiedEmbeddings = tied,
            RopeScaling = new RopeScaling { Type = "longrope", FrequencyFactors = shortFactors, LongFrequencyFactors = longFactors, OriginalMaxPositions = 16, AttentionFactor = attention },
        };
        var hf = new Dictionary<string, object?>
        {
            ["original_max_position_embeddings"] = 16, ["sliding_window"] = null,
            ["rope_scaling"] = new Dictionary<string, object> { ["type"] = "longrope", ["short_factor"] = shortFactors, ["long_factor"] = longFactors },
        };
        if (rotaryDim != 16) hf["partial_rotary_factor"] = rotaryDim / 16.0;
        var gguf = new Dictionary<string, object>
        {
            ["rope.scaling.attn_factor"] = (float)attention, ["rope.scaling.original_context_length"] = 16u, ["attention.sliding_window"] = 0u,
        };
        return (config, hf, gguf);
    }

    public static ArchitectureCase Phi35 { get; } = PhiCase("phi3.5", 16, tied: false);

    public static ArchitectureCase Phi4Mini { get; } = PhiCase("phi4-mini", 12, tied: true);

    private static ArchitectureCase PhiCase(string name, int rotaryDim, bool tied)
    {
        var (config, hf, gguf) = Phi(rotaryDim, tied);
        return new() { Name = name, GgufArchitecture = "phi3", HfModelType = "phi3", Config = config, HfConfig = hf, GgufMetadata = gguf, Fused = true };
    }

    private static ModelConfig GemmaBase(string architecture) => Base(architecture) with
    {
        FeedForward = FeedForwardKind.GeGlu, EmbeddingScale = 8f, TiedEmbeddings = true, NormEps = 1e-6f,
    };

    public static ArchitectureCase Gemma { get; } = new()
    {
        Name = "gemma", GgufArchitecture = "gemma", HfModelType = "gemma", Config = GemmaBase("gemma"), HfNormOffset = 1f,
        HfConfig = new Dictionary<string, object?> { ["hidden_activation"] = "gelu_pytorch_tanh" },
    };

    /// <summary>Gemma 2: sandwich norms, alternating 8-token windows (layers 0 and 2), soft-caps small enough to bite on tiny logits.</summary>
    public static ArchitectureCase Gemma2 { get; } = new()
    {
        Name = "gemma2", GgufArchitecture = "gemma2", HfModelType = "gemma2", HfNormOffset = 1f,
        Config = GemmaBase("gemma2") with
        {
            PostNorms = true, SlidingWindow = 8, SlidingWindowLayers = [true, false, true], AttentionScale = 0.25f,
            AttentionSoftCap = 2f, FinalLogitSoftCap = 3f,
        },
        HfConfig = new Dictionary<string, object?>
        {
            ["hidden_activation"] = "gelu_pytorch_tanh", ["query_pre_attn_scalar"] = 16, ["sliding_window"] = 8,
            ["attn_logit_softcapping"] = 2.0, ["final_logit_softcapping"] = 3.0,
        },
        GgufMetadata = new Dictionary<string, object> { ["attn_logit_softcapping"] = 2f, ["final_logit_softcapping"] = 3f },
    };

    /// <summary>Gemma 3: q/k norms, five local layers (base 10000) then a global one (base 10⁶, linear ×8), windows of 8.</summary>
    public static ArchitectureCase Gemma3 { get; } = new()
    {
        Name = "gemma3", GgufArchitecture = "gemma3", HfModelType = "gemma3_text", HfNormOffset = 1f,
        Config = GemmaBase("gemma3") with
        {
            NumLayers = 6, PostNorms = true, QueryKeyNorm = true, SlidingWindow = 8, SlidingWindowLayers = [true, true, true, true, true, false],
            AttentionScale = 0.25f, RopeTheta = 1000000f, RopeLocalTheta = 10000f, RopeScaling = new RopeScaling { Type = "linear", PositionScale = 0.125 },
        },
        HfConfig = new Dictionary<string, object?>
        {
            ["hidden_activation"] = "gelu_pytorch_tanh", ["query_pre_attn_scalar"] = 16, ["sliding_window"] = 8, ["rope_local_base_freq"] = 10000.0,
            ["layer_types"] = new[] { "sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "full_attention" },
            ["rope_scaling"] = new Dictionary<string, object> { ["rope_type"] = "linear", ["factor"] = 8.0 },
            ["final_logit_softcapping"] = null, ["attn_logit_softcapping"] = null,
        },
        GgufMetadata = new Dictionary<string, object> { ["rope.scaling.type"] = "linear", ["rope.scaling.factor"] = 8f },
    };

    public static IReadOnlyList<ArchitectureCase> All { get; } =
        [Llama2, Llama31, LlamaLinear, SmolLm2, Mistral, Qwen2, Qwen3, Phi35, Phi4Mini, Gemma, Gemma2, Gemma3];

    public static ArchitectureCase ByName(string name) => All.Single(c => c.Name == name);

    /// <summary>Case names for [MemberData].</summary>
    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (ArchitectureCase c in All) data.Add(c.Name);
        return data;
    }
}
