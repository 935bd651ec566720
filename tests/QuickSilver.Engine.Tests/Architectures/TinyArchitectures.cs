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

    public static IReadOnlyList<ArchitectureCase> All { get; } = [Llama2, Llama31, LlamaLinear, SmolLm2, Mistral, Qwen2, Qwen3];

    public static ArchitectureCase ByName(string name) => All.Single(c => c.Name == name);

    /// <summary>Case names for [MemberData].</summary>
    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (ArchitectureCase c in All) data.Add(c.Name);
        return data;
    }
}
