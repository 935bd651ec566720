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
        FullPrecision = new bool[count];
    }

    /// <summary>Never quantized: kept at full precision by adaptive quantization (the paper's BOS/special tokens, which every later token attends to).</summary>
    public bool[] FullPrecision { get; }

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

    /// <summary>The flags of positions [<paramref name="start"/>, start + <paramref name="count"/>).</summary>
    public TokenFlags Slice(int start, int count)
    {
        var slice = new TokenFlags(count);
        Array.Copy(FullProcessing, start, slice.FullProcessing, 0, count);
        Array.Copy(ForcedHalt, start, slice.ForcedHalt, 0, count);
        Array.Copy(QuantizationOverride, start, slice.QuantizationOverride, 0, count);
        Array.Copy(ForceFuseWithNext, start, slice.ForceFuseWithNext, 0, count);
        Array.Copy(RetainKv, start, slice.RetainKv, 0, count);
        Array.Copy(FullPrecision, start, slice.FullPrecision, 0, count);
        return slice;
    }
}
