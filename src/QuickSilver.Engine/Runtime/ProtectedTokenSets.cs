namespace QuickSilver.Engine.Runtime;

/// <summary>Token ids the lexicons resolved to, for one request; turns a token sequence into <see cref="TokenFlags"/>.</summary>
public sealed class ProtectedTokenSets
{
    /// <summary>Ids never halted, skipped, fused or quantized below 8 bits.</summary>
    public HashSet<int> FullProcessing { get; } = [];
    /// <summary>Ids halted at the minimum depth.</summary>
    public HashSet<int> ForcedHalt { get; } = [];
    /// <summary>Ids kept at 8 bits.</summary>
    public HashSet<int> QuantizationOverride { get; } = [];

    /// <summary>Flags for a token sequence.</summary>
    public TokenFlags FlagsFor(IReadOnlyList<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var flags = new TokenFlags(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            int id = tokens[i];
            flags.FullProcessing[i] = FullProcessing.Contains(id);
            flags.ForcedHalt[i] = ForcedHalt.Contains(id) && !flags.FullProcessing[i];
            flags.QuantizationOverride[i] = QuantizationOverride.Contains(id) || flags.FullProcessing[i];
        }
        return flags;
    }
}
