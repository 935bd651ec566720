using QuickSilver.Engine.Models;

namespace QuickSilver.Testing.Conformance;

/// <summary>
/// Random-weight variants of every supported architecture at a given <see cref="ArchitectureShape"/>, with the metadata
/// their real checkpoints carry (GGUF as llama.cpp's converter writes it, config.json as transformers writes it).
/// </summary>
internal sealed class ArchitectureCases
{
    private readonly ArchitectureShape _s;

    /// <summary>Every case at <paramref name="shape"/>.</summary>
    public ArchitectureCases(ArchitectureShape shape)
    {
        _s = shape;
        All =
        [
            Case("llama2", "llama", "llama", Base("llama")),
            Llama31(), LlamaLinear(),
            Case("smollm2", "llama", "llama", Base("llama") with { RopeTheta = 100000f, TiedEmbeddings = true }),
            Mistral(), Qwen2(), Qwen3(), PhiCase("phi3.5", shape.HeadDim, tied: false), PhiCase("phi4-mini", shape.HeadDim * 3 / 4, tied: true),
            Gemma(), Gemma2(), Gemma3(), Gpt2(),
        ];
    }

    /// <summary>The unit-test cases.</summary>
    public static ArchitectureCases Tiny { get; } = new(ArchitectureShape.Tiny);

    /// <summary>The conformance-matrix cases.</summary>
    public static ArchitectureCases Conformance { get; } = new(ArchitectureShape.Conformance);

    /// <summary>Every case, in matrix order.</summary>
    public IReadOnlyList<ArchitectureCase> All { get; }

    /// <summary>The case named <paramref name="name"/>.</summary>
    public ArchitectureCase ByName(string name) => All.Single(c => c.Name == name);

    /// <summary>A Llama-shaped config of this shape.</summary>
    public ModelConfig Base(string architecture) => new()
    {
        Architecture = architecture, VocabSize = _s.Vocab, HiddenSize = _s.Dim, NumLayers = _s.Layers, NumHeads = _s.Heads, NumKvHeads = _s.KvHeads,
        HeadDim = _s.HeadDim, IntermediateSize = _s.Ffn, MaxPositions = _s.Positions, NormEps = 1e-5f, RopeTheta = 10000f, Norm = NormKind.RmsNorm,
        Positions = PositionEncodingKind.Rotary, FeedForward = FeedForwardKind.SwiGlu, BosTokenId = 1, EosTokenId = 2,
    };

    private static ArchitectureCase Case(string name, string gguf, string hf, ModelConfig config) =>
        new() { Name = name, GgufArchitecture = gguf, HfModelType = hf, Config = config };

    /// <summary>Llama 3.1's rope_scaling over this shape's original context, so that the prompts cross every band.</summary>
    private Dictionary<string, object> Llama3Scaling() => new()
    {
        ["rope_type"] = "llama3", ["factor"] = 8.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0, ["original_max_position_embeddings"] = _s.OriginalContext,
    };

    private ArchitectureCase Llama31() => new()
    {
        Name = "llama3.1", GgufArchitecture = "llama", HfModelType = "llama",
        Config = Base("llama") with
        {
            RopeTheta = 500000f,
            RopeScaling = new RopeScaling { Type = "llama3", FrequencyFactors = RopeScaling.Llama3Factors(_s.HeadDim, 500000, 8, 1, 4, _s.OriginalContext) },
        },
        HfConfig = new Dictionary<string, object?> { ["rope_scaling"] = Llama3Scaling() },
    };

    private ArchitectureCase LlamaLinear() => new()
    {
        Name = "llama-linear", GgufArchitecture = "llama", HfModelType = "llama",
        Config = Base("llama") with { RopeScaling = new RopeScaling { Type = "linear", PositionScale = 0.25 } },
        GgufMetadata = new Dictionary<string, object> { ["rope.scaling.type"] = "linear", ["rope.scaling.factor"] = 4f },
        HfConfig = new Dictionary<string, object?> { ["rope_scaling"] = new Dictionary<string, object> { ["rope_type"] = "linear", ["factor"] = 4.0 } },
    };

    /// <summary>Mistral: converted to GGUF as <c>llama</c>, whose graph in llama.cpp has no window (see <see cref="ArchitectureCase.LlamaCppAppliesWindow"/>).</summary>
    private ArchitectureCase Mistral() => new()
    {
        Name = "mistral", GgufArchitecture = "llama", HfModelType = "mistral",
        Config = Base("llama") with { SlidingWindow = _s.Window },
        HfConfig = new Dictionary<string, object?> { ["sliding_window"] = _s.Window },
        LlamaCppAppliesWindow = false,
    };

    private ArchitectureCase Qwen2() => new()
    {
        Name = "qwen2", GgufArchitecture = "qwen2", HfModelType = "qwen2",
        Config = Base("qwen2") with { RopeTheta = 1000000f, AttentionBias = true, TiedEmbeddings = true, NormEps = 1e-6f },
        HfConfig = new Dictionary<string, object?> { ["use_sliding_window"] = false, ["sliding_window"] = _s.Window * 4, ["max_window_layers"] = 2 },
    };

    private ArchitectureCase Qwen3() => new()
    {
        Name = "qwen3", GgufArchitecture = "qwen3", HfModelType = "qwen3",
        Config = Base("qwen3") with { HeadDim = 2 * _s.HeadDim, RopeTheta = 1000000f, QueryKeyNorm = true, NormEps = 1e-6f },
        HfConfig = new Dictionary<string, object?> { ["attention_bias"] = false },
    };

    private static float[] Factors(int count, float low, float high, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(i => low + ((high - low) * i / Math.Max(1, count - 1)) + (0.05f * (float)random.NextDouble())).ToArray();
    }

    /// <summary>Phi-3.5-mini's shape of longrope: a context 4× the original, so the long factors and √(1 + ln 4 / ln original) apply.</summary>
    private ArchitectureCase PhiCase(string name, int rotaryDim, bool tied)
    {
        float[] shortFactors = Factors(rotaryDim / 2, 1.0f, 1.2f, 1), longFactors = Factors(rotaryDim / 2, 1.0f, 6f, 2);
        int original = _s.OriginalContext;
        double attention = Math.Sqrt(1 + (Math.Log((double)_s.Positions / original) / Math.Log(original)));
        var config = Base("phi3") with
        {
            RotaryDim = rotaryDim == _s.HeadDim ? 0 : rotaryDim, TiedEmbeddings = tied,
            RopeScaling = new RopeScaling { Type = "longrope", FrequencyFactors = shortFactors, LongFrequencyFactors = longFactors, OriginalMaxPositions = original, AttentionFactor = attention },
        };
        var hf = new Dictionary<string, object?>
        {
            ["original_max_position_embeddings"] = original, ["sliding_window"] = null,
            ["rope_scaling"] = new Dictionary<string, object> { ["type"] = "longrope", ["short_factor"] = shortFactors, ["long_factor"] = longFactors },
        };
        if (rotaryDim != _s.HeadDim) hf["partial_rotary_factor"] = (double)rotaryDim / _s.HeadDim;
        var gguf = new Dictionary<string, object>
        {
            ["rope.scaling.attn_factor"] = (float)attention, ["rope.scaling.original_context_length"] = (uint)original, ["attention.sliding_window"] = 0u,
        };
        return new() { Name = name, GgufArchitecture = "phi3", HfModelType = "phi3", Config = config, HfConfig = hf, GgufMetadata = gguf, Fused = true };
    }

    private ModelConfig GemmaBase(string architecture) => Base(architecture) with
    {
        FeedForward = FeedForwardKind.GeGlu, EmbeddingScale = MathF.Sqrt(_s.Dim), TiedEmbeddings = true, NormEps = 1e-6f,
    };

    private ArchitectureCase Gemma() => new()
    {
        Name = "gemma", GgufArchitecture = "gemma", HfModelType = "gemma", Config = GemmaBase("gemma"), HfNormOffset = 1f,
        HfConfig = new Dictionary<string, object?> { ["hidden_activation"] = "gelu_pytorch_tanh" },
    };

    /// <summary>Gemma 2: sandwich norms, windows on the even layers (llama.cpp's pattern), soft-caps small enough to bite.</summary>
    private ArchitectureCase Gemma2() => new()
    {
        Name = "gemma2", GgufArchitecture = "gemma2", HfModelType = "gemma2", HfNormOffset = 1f,
        Config = GemmaBase("gemma2") with
        {
            PostNorms = true, SlidingWindow = _s.Window, SlidingWindowLayers = [.. Enumerable.Range(0, _s.Layers).Select(l => l % 2 == 0)],
            AttentionScale = 1f / MathF.Sqrt(_s.HeadDim), AttentionSoftCap = _s.AttentionSoftCap, FinalLogitSoftCap = _s.FinalSoftCap,
        },
        HfConfig = new Dictionary<string, object?>
        {
            ["hidden_activation"] = "gelu_pytorch_tanh", ["query_pre_attn_scalar"] = _s.HeadDim, ["sliding_window"] = _s.Window,
            ["attn_logit_softcapping"] = (double)_s.AttentionSoftCap, ["final_logit_softcapping"] = (double)_s.FinalSoftCap,
        },
        GgufMetadata = new Dictionary<string, object> { ["attn_logit_softcapping"] = _s.AttentionSoftCap, ["final_logit_softcapping"] = _s.FinalSoftCap },
    };

    /// <summary>Gemma 3: q/k norms, five local layers (base 10000) then a global one (base 10⁶, linear ×8).</summary>
    private ArchitectureCase Gemma3() => new()
    {
        Name = "gemma3", GgufArchitecture = "gemma3", HfModelType = "gemma3_text", HfNormOffset = 1f,
        Config = GemmaBase("gemma3") with
        {
            NumLayers = 6, PostNorms = true, QueryKeyNorm = true, SlidingWindow = _s.Window, SlidingWindowLayers = [true, true, true, true, true, false],
            AttentionScale = 1f / MathF.Sqrt(_s.HeadDim), RopeTheta = 1000000f, RopeLocalTheta = 10000f, RopeScaling = new RopeScaling { Type = "linear", PositionScale = 0.125 },
        },
        HfConfig = new Dictionary<string, object?>
        {
            ["hidden_activation"] = "gelu_pytorch_tanh", ["query_pre_attn_scalar"] = _s.HeadDim, ["sliding_window"] = _s.Window, ["rope_local_base_freq"] = 10000.0,
            ["layer_types"] = new[] { "sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "sliding_attention", "full_attention" },
            ["rope_scaling"] = new Dictionary<string, object> { ["rope_type"] = "linear", ["factor"] = 8.0 },
            ["final_logit_softcapping"] = null, ["attn_logit_softcapping"] = null,
        },
        GgufMetadata = new Dictionary<string, object> { ["rope.scaling.type"] = "linear", ["rope.scaling.factor"] = 8f },
    };

    /// <summary>GPT-2: LayerNorm with biases, learned positions, tanh-GELU MLP with biases, fused q|k|v, separate head.</summary>
    private ArchitectureCase Gpt2() => new()
    {
        Name = "gpt2", GgufArchitecture = "gpt2", HfModelType = "gpt2",
        Config = Base("gpt2") with
        {
            NumKvHeads = _s.Heads, HeadDim = _s.Dim / _s.Heads, Norm = NormKind.LayerNorm, Positions = PositionEncodingKind.Learned,
            FeedForward = FeedForwardKind.GeluTanh, AttentionBias = true, MlpBias = true, TiedEmbeddings = false,
        },
        Fused = true,
    };
}
