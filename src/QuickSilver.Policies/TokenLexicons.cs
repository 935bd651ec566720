namespace QuickSilver.Policies;

/// <summary>Words, phrases and token ids that override the runtime's decisions.</summary>
/// <remarks>Words and phrases are matched against the decoded token text by <see cref="LexiconMatcher"/>: case-insensitively, on word boundaries,
/// with a leading or trailing '*' as a wildcard ("*n't"). A phrase covers every token it overlaps.</remarks>
public sealed class TokenLexicons
{
    /// <summary>Tokens halted at the minimum depth regardless of their signals.</summary>
    public List<string> ForcedHalt { get; set; } = [];
    /// <summary>Tokens never halted, skipped, fused or quantized below 8 bits.</summary>
    public List<string> FullProcessing { get; set; } = [];
    /// <summary>Tokens always kept at 8 bits.</summary>
    public List<string> QuantizationOverride { get; set; } = [];
    /// <summary>KV forced retention (paper 2.2): tokens that may halt but keep writing K/V at every deeper layer (computed from their frozen state).</summary>
    public List<string> ForcedRetention { get; set; } = [];
    /// <summary>Token ids forced to halt.</summary>
    public List<int> ForcedHaltIds { get; set; } = [];
    /// <summary>Token ids given full processing.</summary>
    public List<int> FullProcessingIds { get; set; } = [];
    /// <summary>Token ids kept at 8 bits.</summary>
    public List<int> QuantizationOverrideIds { get; set; } = [];
    /// <summary>Token ids whose K/V are retained after they halt.</summary>
    public List<int> ForcedRetentionIds { get; set; } = [];
    /// <summary>Add the built-in negation lexicon ("not", "no", "never", "n't", ...) to full processing.</summary>
    public bool ProtectNegations { get; set; } = true;
    /// <summary>Add JSON structure characters ({ } [ ] : , ") to full processing.</summary>
    public bool ProtectJsonStructure { get; set; } = true;

    /// <summary>Creates a deep copy.</summary>
    public TokenLexicons Clone() => new()
    {
        ForcedHalt = [.. ForcedHalt],
        FullProcessing = [.. FullProcessing],
        QuantizationOverride = [.. QuantizationOverride],
        ForcedHaltIds = [.. ForcedHaltIds],
        FullProcessingIds = [.. FullProcessingIds],
        QuantizationOverrideIds = [.. QuantizationOverrideIds],
        ForcedRetention = [.. ForcedRetention],
        ForcedRetentionIds = [.. ForcedRetentionIds],
        ProtectNegations = ProtectNegations,
        ProtectJsonStructure = ProtectJsonStructure,
    };
}
