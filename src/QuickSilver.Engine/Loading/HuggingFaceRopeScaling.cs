using QuickSilver.Engine.Models;

namespace QuickSilver.Engine.Loading;

/// <summary>
/// Reads config.json's <c>rope_scaling</c> as transformers' <c>ROPE_INIT_FUNCTIONS</c> interpret it: <c>default</c>, <c>linear</c>,
/// <c>llama3</c> and <c>longrope</c> (alias <c>su</c>). Other types (dynamic, yarn, …) are rejected by name.
/// </summary>
internal static class HuggingFaceRopeScaling
{
    /// <summary>The scaling, or null for plain RoPE.</summary>
    /// <param name="reader">The config root.</param>
    /// <param name="headDim">Head width (the rotated width).</param>
    /// <param name="theta">RoPE base.</param>
    /// <param name="maxPositions">max_position_embeddings.</param>
    public static RopeScaling? Read(JsonConfigReader reader, int headDim, float theta, int maxPositions)
    {
        JsonConfigReader? scaling = reader.OptionalObject("rope_scaling");
        if (scaling is null) return null;
        string? type = scaling.OptionalString("rope_type") ?? scaling.OptionalString("type");
        switch (type)
        {
            case null:
                throw reader.Invalid("rope_scaling", "is set but names no rope_type.");
            case "default":
                return null;
            case "linear":
                {
                    float factor = scaling.OptionalFloat("factor") ?? throw scaling.Missing("factor");
                    if (!(factor > 0)) throw scaling.Invalid("factor", $"({factor}) must be positive.");
                    return new RopeScaling { Type = type, PositionScale = 1.0 / factor };
                }
            case "llama3":
                {
                    float factor = scaling.OptionalFloat("factor") ?? throw scaling.Missing("factor");
                    float low = scaling.OptionalFloat("low_freq_factor") ?? throw scaling.Missing("low_freq_factor");
                    float high = scaling.OptionalFloat("high_freq_factor") ?? throw scaling.Missing("high_freq_factor");
                    int original = scaling.OptionalInt("original_max_position_embeddings") ?? throw scaling.Missing("original_max_position_embeddings");
                    if (!(factor > 0) || !(low > 0) || !(high > low) || original <= 0)
                        throw reader.Invalid("rope_scaling", $"has llama3 parameters out of range (factor {factor}, low_freq_factor {low}, high_freq_factor {high}, original_max_position_embeddings {original}).");
                    return new RopeScaling { Type = type, FrequencyFactors = RopeScaling.Llama3Factors(headDim, theta, factor, low, high, original) };
                }
            case "longrope" or "su":
                {
                    float[] shortFactors = scaling.OptionalFloatArray("short_factor") ?? throw scaling.Missing("short_factor");
                    float[] longFactors = scaling.OptionalFloatArray("long_factor") ?? throw scaling.Missing("long_factor");
                    int? rootOriginal = reader.OptionalInt("original_max_position_embeddings");
                    int original = rootOriginal ?? scaling.OptionalInt("original_max_position_embeddings") ?? maxPositions;
                    if (original <= 0) throw reader.Invalid("original_max_position_embeddings", $"({original}) must be positive.");
                    // transformers: with the root field the factor is the context ratio, else rope_scaling.factor.
                    double factor = rootOriginal is not null ? (double)maxPositions / original : scaling.OptionalFloat("factor") ?? 1.0;
                    double attention = scaling.OptionalFloat("attention_factor")
                        ?? (factor <= 1.0 ? 1.0 : Math.Sqrt(1 + (Math.Log(factor) / Math.Log(original))));
                    return new RopeScaling
                    {
                        Type = type,
                        FrequencyFactors = shortFactors,
                        LongFrequencyFactors = longFactors,
                        OriginalMaxPositions = original,
                        AttentionFactor = attention,
                    };
                }
            default:
                throw reader.Invalid("rope_scaling", $"has type '{type}', which is not supported (supported: default, linear, llama3, longrope/su).");
        }
    }
}
