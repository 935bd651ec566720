namespace QuickSilver.Engine.Models;

/// <summary>Normalization used before attention, before the MLP and before the head.</summary>
public enum NormKind
{
    /// <summary>LayerNorm with weight and bias, biased variance (GPT-2).</summary>
    LayerNorm,
    /// <summary>RMSNorm with weight only (Llama).</summary>
    RmsNorm,
}
