using QuickSilver.Engine.Models;

namespace QuickSilver.Engine.Tests.Architectures;

/// <summary>
/// Tiny configs (d 32, 4 heads of 8) of every supported family, for the router and mechanism tests: each family's
/// distinguishing features switched on (biases, q/k norms, windows, scaling, sandwich norms, soft-caps, GeGLU).
/// </summary>
internal static class TinyFamilies
{
    /// <summary>The family names, for [MemberData].</summary>
    public static TheoryData<string> Names() => ["llama3.1", "gpt2", "qwen2", "qwen3", "mistral", "phi4-mini", "gemma2", "gemma3"];

    /// <summary>The tiny config of <paramref name="family"/> with <paramref name="layers"/> blocks.</summary>
    public static ModelConfig Config(string family, int layers = 4)
    {
        ModelConfig llama = TestModels.TinyLlama(layers);
        bool[] Pattern(int period) => Enumerable.Range(0, layers).Select(l => l % period < period - 1).ToArray();
        return family switch
        {
            "llama3.1" => llama with { RopeScaling = new RopeScaling { Type = "llama3", FrequencyFactors = RopeScaling.Llama3Factors(8, 10000, 8, 1, 4, 8) } },
            "gpt2" => TestModels.TinyGpt2(layers),
            "qwen2" => llama with { Architecture = "qwen2", AttentionBias = true, TiedEmbeddings = true },
            "qwen3" => llama with { Architecture = "qwen3", HeadDim = 16, QueryKeyNorm = true },
            "mistral" => llama with { Architecture = "mistral", SlidingWindow = 6 },
            "phi4-mini" => llama with
            {
                Architecture = "phi3", RotaryDim = 6,
                RopeScaling = new RopeScaling { Type = "longrope", FrequencyFactors = [1f, 1.1f, 1.2f], LongFrequencyFactors = [1f, 3f, 6f], OriginalMaxPositions = 16, AttentionFactor = 1.2 },
            },
            "gemma2" => llama with
            {
                Architecture = "gemma2", FeedForward = FeedForwardKind.GeGlu, EmbeddingScale = MathF.Sqrt(32), PostNorms = true, TiedEmbeddings = true,
                SlidingWindow = 6, SlidingWindowLayers = Pattern(2), AttentionScale = 0.3f, AttentionSoftCap = 5f, FinalLogitSoftCap = 10f,
            },
            "gemma3" => llama with
            {
                Architecture = "gemma3", FeedForward = FeedForwardKind.GeGlu, EmbeddingScale = MathF.Sqrt(32), PostNorms = true, QueryKeyNorm = true,
                SlidingWindow = 6, SlidingWindowLayers = Pattern(3), RopeTheta = 1000000f, RopeLocalTheta = 10000f,
                RopeScaling = new RopeScaling { Type = "linear", PositionScale = 0.125 },
            },
            _ => throw new ArgumentException($"unknown family '{family}'", nameof(family)),
        };
    }
}
