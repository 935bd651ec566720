using QuickSilver.Engine.Models;

namespace QuickSilver.Engine.Loading;

/// <summary>
/// Reads RoPE scaling from GGUF metadata the way llama.cpp does: <c>{arch}.rope.scaling.type</c> (absent means linear),
/// <c>{arch}.rope.scaling.factor</c> (or the older <c>rope.scale_linear</c>), the per-frequency divisors of
/// <c>rope_freqs.weight</c> (Llama 3.1's smoothed factors, written by the converter), and Phi-3's longrope pair
/// <c>rope_factors_short.weight</c>/<c>rope_factors_long.weight</c> with <c>rope.scaling.attn_factor</c> and
/// <c>rope.scaling.original_context_length</c>. Types we do not run are rejected by name.
/// </summary>
internal static class GgufRopeScaling
{
    /// <summary>The scaling of <paramref name="file"/>, or null when RoPE runs unscaled.</summary>
    /// <param name="file">The GGUF.</param>
    /// <param name="prefix">Metadata prefix, "{arch}.".</param>
    /// <param name="rotaryDim">Rotated width per head (the factor tensors hold rotaryDim/2 values).</param>
    /// <param name="contextLength">The trained context ({arch}.context_length).</param>
    public static RopeScaling? Read(GgufFile file, string prefix, int rotaryDim, int contextLength)
    {
        string typeKey = prefix + "rope.scaling.type";
        string? type = file.TryGetString(typeKey, out string? named) ? named : null;
        float factor = 0;
        if (!file.TryGetFloat32(prefix + "rope.scaling.factor", out factor)) file.TryGetFloat32(prefix + "rope.scale_linear", out factor);
        bool hasAttentionFactor = file.TryGetFloat32(prefix + "rope.scaling.attn_factor", out float attentionFactor);

        float[]? frequencyFactors = Factors("rope_freqs.weight");
        float[]? shortFactors = Factors("rope_factors_short.weight");
        float[]? longFactors = Factors("rope_factors_long.weight");
        if ((shortFactors is null) != (longFactors is null))
            throw new ModelFormatException(file.Path, "tensors 'rope_factors_short.weight' and 'rope_factors_long.weight' must come together.");
        if (frequencyFactors is not null && shortFactors is not null)
            throw new ModelFormatException(file.Path, "tensor 'rope_freqs.weight' and the longrope pair 'rope_factors_short/long.weight' cannot both be present.");
        if (hasAttentionFactor && attentionFactor != 1f && longFactors is null)
            throw new ModelFormatException(file.Path, $"metadata '{prefix}rope.scaling.attn_factor' is {attentionFactor}; a RoPE attention factor is only supported with longrope factors.");

        double positionScale = 1.0;
        switch (type)
        {
            case null or "linear":
                if (factor != 0 && factor != 1) positionScale = 1.0 / factor;
                break;
            case "none":
                if (factor != 0 && factor != 1)
                    throw new ModelFormatException(file.Path, $"metadata '{typeKey}' is 'none' but '{prefix}rope.scaling.factor' is {factor}.");
                break;
            default:
                throw new ModelFormatException(file.Path, $"metadata '{typeKey}' is '{type}', which is not supported (supported: none, linear, per-frequency factors in rope_freqs.weight, longrope factor pairs).");
        }
        if (!(positionScale > 0) || !double.IsFinite(positionScale))
            throw new ModelFormatException(file.Path, $"metadata '{prefix}rope.scaling.factor' is {factor}, which is not a valid scaling factor.");
        if (longFactors is not null)
        {
            int original = file.TryGetUInt32(prefix + "rope.scaling.original_context_length", out uint value) ? (int)Math.Min(value, int.MaxValue) : contextLength;
            return new RopeScaling
            {
                Type = "longrope",
                PositionScale = positionScale,
                FrequencyFactors = shortFactors,
                LongFrequencyFactors = longFactors,
                OriginalMaxPositions = original,
                AttentionFactor = hasAttentionFactor ? attentionFactor : 1.0,
            };
        }
        if (positionScale == 1.0 && frequencyFactors is null) return null;
        return new RopeScaling
        {
            Type = frequencyFactors is not null ? "rope_freqs" : "linear",
            PositionScale = positionScale,
            FrequencyFactors = frequencyFactors,
        };

        float[]? Factors(string name)
        {
            if (!file.TryGetTensor(name, out GgufTensorInfo? info)) return null;
            CheckpointBuilder.ExpectShape(file.Path, name, [rotaryDim / 2], info.Shape);
            return file.ReadTensorData(info);
        }
    }
}
