using QuickSilver.Engine.Models;

namespace QuickSilver.Engine.Loading;

/// <summary>
/// Reads RoPE scaling from GGUF metadata the way llama.cpp does: <c>{arch}.rope.scaling.type</c> (absent means linear),
/// <c>{arch}.rope.scaling.factor</c> (or the older <c>rope.scale_linear</c>), and the per-frequency divisors of
/// <c>rope_freqs.weight</c> (Llama 3.1's smoothed factors, written by the converter). Types we do not run are rejected by name.
/// </summary>
internal static class GgufRopeScaling
{
    /// <summary>The scaling of <paramref name="file"/>, or null when RoPE runs unscaled.</summary>
    /// <param name="file">The GGUF.</param>
    /// <param name="prefix">Metadata prefix, "{arch}.".</param>
    /// <param name="headDim">Head width (rope_freqs.weight holds headDim/2 values).</param>
    public static RopeScaling? Read(GgufFile file, string prefix, int headDim)
    {
        string typeKey = prefix + "rope.scaling.type";
        string? type = file.TryGetString(typeKey, out string? named) ? named : null;
        float factor = 0;
        if (!file.TryGetFloat32(prefix + "rope.scaling.factor", out factor)) file.TryGetFloat32(prefix + "rope.scale_linear", out factor);
        if (file.TryGetFloat32(prefix + "rope.scaling.attn_factor", out float attentionFactor) && attentionFactor != 1f)
            throw new ModelFormatException(file.Path, $"metadata '{prefix}rope.scaling.attn_factor' is {attentionFactor}; a RoPE attention factor is not supported for this architecture.");

        float[]? frequencyFactors = null;
        if (file.TryGetTensor("rope_freqs.weight", out GgufTensorInfo? info))
        {
            CheckpointBuilder.ExpectShape(file.Path, "rope_freqs.weight", [headDim / 2], info.Shape);
            frequencyFactors = file.ReadTensorData(info);
        }

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
                throw new ModelFormatException(file.Path, $"metadata '{typeKey}' is '{type}', which is not supported (supported: none, linear, and per-frequency factors in rope_freqs.weight).");
        }
        if (!(positionScale > 0) || !double.IsFinite(positionScale))
            throw new ModelFormatException(file.Path, $"metadata '{prefix}rope.scaling.factor' is {factor}, which is not a valid scaling factor.");
        if (positionScale == 1.0 && frequencyFactors is null) return null;
        return new RopeScaling
        {
            Type = frequencyFactors is not null ? "rope_freqs" : "linear",
            PositionScale = positionScale,
            FrequencyFactors = frequencyFactors,
        };
    }
}
