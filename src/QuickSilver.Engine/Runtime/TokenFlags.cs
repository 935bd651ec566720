namespace QuickSilver.Engine.Runtime;

/// <summary>Per-position overrides for one forward pass, resolved from the lexicons.</summary>
public sealed class TokenFlags
{
    /// <summary>Creates flags for <paramref name="count"/> positions, all off.</summary>
    public TokenFlags(int count)
    {
        FullProcessing = new bool[count];
        ForcedHalt = new bool[count];
        QuantizationOverride = new bool[count];
        ForceFuseWithNext = new bool[count];
        RetainKv = new bool[count];
    }

    /// <summary>Never halted, skipped, fused, or quantized below 8 bits.</summary>
    public bool[] FullProcessing { get; }
    /// <summary>Halted at the minimum depth whatever the signals say.</summary>
    public bool[] ForcedHalt { get; }
    /// <summary>Kept at 8 bits.</summary>
    public bool[] QuantizationOverride { get; }
    /// <summary>KV forced retention: if the token halts, it still writes K/V (from its frozen state) at every deeper layer.</summary>
    public bool[] RetainKv { get; }
    /// <summary>Fused with the next token at the first eligible layer whatever the distance (prescribed profiles for benchmarks).</summary>
    public bool[] ForceFuseWithNext { get; }
}
