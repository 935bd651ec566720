namespace QuickSilver.Policies;

/// <summary>The feed-forward block's shape, which sets how many d×I matrices it multiplies by.</summary>
public enum MlpKind
{
    /// <summary>Gated (Llama): gate, up and down projections, three d×I matrices.</summary>
    SwiGlu,
    /// <summary>Plain two-layer MLP with GELU (GPT-2): up and down projections, two d×I matrices.</summary>
    Gelu,
}
