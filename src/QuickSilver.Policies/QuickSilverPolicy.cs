namespace QuickSilver.Policies;

/// <summary>The complete runtime policy: the four mechanisms and the lexicons. Immutable once handed to a request (use <see cref="Clone"/>).</summary>
public sealed class QuickSilverPolicy
{
    /// <summary>A name for logs and reports ("dense", "safe", "paper", "calibrated").</summary>
    public string Name { get; set; } = "custom";
    /// <summary>Dynamic token halting.</summary>
    public HaltingPolicy Halting { get; set; } = new();
    /// <summary>KV-cache skipping.</summary>
    public KvSkipPolicy KvSkip { get; set; } = new();
    /// <summary>Contextual token fusion.</summary>
    public FusionPolicy Fusion { get; set; } = new();
    /// <summary>Adaptive Matryoshka quantization.</summary>
    public QuantizationPolicy Quantization { get; set; } = new();
    /// <summary>Override lexicons.</summary>
    public TokenLexicons Lexicons { get; set; } = new();

    /// <summary>True when no mechanism is enabled.</summary>
    public bool IsDense => !Halting.Enabled && !Fusion.Enabled && !Quantization.Enabled;

    /// <summary>Creates a deep copy.</summary>
    public QuickSilverPolicy Clone() => new()
    {
        Name = Name,
        Halting = Halting.Clone(),
        KvSkip = KvSkip.Clone(),
        Fusion = Fusion.Clone(),
        Quantization = Quantization.Clone(),
        Lexicons = Lexicons.Clone(),
    };
}
