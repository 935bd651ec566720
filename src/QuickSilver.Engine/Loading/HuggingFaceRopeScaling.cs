using QuickSilver.Engine.Models;

namespace QuickSilver.Engine.Loading;

/// <summary>
/// Reads RoPE from config.json as transformers interprets it: <c>rope_theta</c> + <c>rope_scaling</c> (transformers 4.x), or
/// <c>rope_parameters</c> (transformers 5; flat, or keyed by layer type as Gemma 3 writes it). Scaling types: <c>default</c>,
/// <c>linear</c>, <c>llama3</c> and <c>longrope</c> (alias <c>su</c>); others (dynamic, yarn, …) are rejected by name.
/// </summary>
internal static class HuggingFaceRopeScaling
{
    /// <summary>The global base, the global scaling (null for plain RoPE) and the local layers' base (null to share the global one).</summary>
    /// <param name="reader">The config root.</param>
    /// <param name="headDim">Head width (the rotated width).</param>
    /// <param name="maxPositions">max_position_embeddings.</param>
    /// <param name="localThetaField">Field of the local layers' base in 4.x configs (Gemma 3's rope_local_base_freq), or null.</param>
    /// <param name="defaultLocalTheta">The local base when that field is absent.</param>
    public static (float Theta, RopeScaling? Scaling, float? LocalTheta) Read(JsonConfigReader reader, int headDim, int maxPositions,
        string? localThetaField = null, float? defaultLocalTheta = null)
    {
        JsonConfigReader? parameters = reader.OptionalObject("rope_parameters");
        if (parameters is null)
        {
            float theta = reader.OptionalFloat("rope_theta") ?? 10000f;
            float? local = localThetaField is null ? null : reader.OptionalFloat(localThetaField) ?? defaultLocalTheta;
            return (theta, Scaling(reader, reader.OptionalObject("rope_scaling"), "rope_scaling", headDim, theta, maxPositions), local);
        }

        JsonConfigReader? global = parameters.OptionalObject("full_attention");
        JsonConfigReader? sliding = parameters.OptionalObject("sliding_attention");
        if (global is null && sliding is null) global = parameters;
        float globalTheta = global?.OptionalFloat("rope_theta") ?? reader.OptionalFloat("rope_theta") ?? 10000f;
        RopeScaling? scaling = global is null ? null : Scaling(reader, global, global == parameters ? "rope_parameters" : "rope_parameters.full_attention", headDim, globalTheta, maxPositions);
        float? localTheta = null;
        if (sliding is not null)
        {
            localTheta = sliding.OptionalFloat("rope_theta") ?? globalTheta;
            if (Scaling(reader, sliding, "rope_parameters.sliding_attention", headDim, localTheta.Value, maxPositions) is not null)
                throw sliding.Invalid("rope_type", "is set for sliding_attention layers; only unscaled RoPE is supported on local layers.");
        }
        else if (localThetaField is not null) localTheta = defaultLocalTheta;
        return (globalTheta, scaling, localTheta);
    }

    private static RopeScaling? Scaling(JsonConfigReader root, JsonConfigReader? scaling, string field, int headDim, float theta, int maxPositions)
    {
        if (scaling is null) return null;
        string? type = scaling.OptionalString("rope_type") ?? scaling.OptionalString("type");
        switch (type)
        {
            case null when field.StartsWith("rope_parameters", StringComparison.Ordinal):
            case "default":
                return null;
            case null:
                throw root.Invalid(field, "is set but names no rope_type.");
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
                        throw root.Invalid(field, $"has llama3 parameters out of range (factor {factor}, low_freq_factor {low}, high_freq_factor {high}, original_max_position_embeddings {original}).");
                    return new RopeScaling { Type = type, FrequencyFactors = RopeScaling.Llama3Factors(headDim, theta, factor, low, high, original) };
                }
            case "longrope" or "su":
                {
                    float[] shortFactors = scaling.OptionalFloatArray("short_factor") ?? throw scaling.Missing("short_factor");
                    float[] longFactors = scaling.OptionalFloatArray("long_factor") ?? throw scaling.Missing("long_factor");
                    int? rootOriginal = root.OptionalInt("original_max_position_embeddings");
                    int original = rootOriginal ?? scaling.OptionalInt("original_max_position_embeddings") ?? maxPositions;
                    if (original <= 0) throw root.Invalid("original_max_position_embeddings", $"({original}) must be positive.");
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
                throw root.Invalid(field, $"has type '{type}', which is not supported (supported: default, linear, llama3, longrope/su).");
        }
    }
}
