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

    /// <summary>The names <see cref="FromPreset"/> accepts: "dense", "safe" and "paper".</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["dense", "safe", "paper"];

    /// <summary>Checks every setting and throws on the first invalid one.</summary>
    /// <param name="numLayers">The model depth; when given, layer numbers must lie in [1, numLayers].</param>
    /// <param name="vocabSize">The vocabulary size; when given, token ids and the proxy top-k must fit in it.</param>
    /// <exception cref="PolicyValidationException">A setting is invalid; <see cref="PolicyValidationException.Field"/> names it (for example "Halting.DriftThreshold").</exception>
    /// <remarks>
    /// Every mechanism is checked whether or not it is enabled. <see cref="HaltingPolicy.MinLayer"/> is the one layer setting not bounded by
    /// <paramref name="numLayers"/>: it is a depth floor that <see cref="HaltingPolicy.ResolveMinLayer"/> clamps to L−1, which keeps the presets valid on shallow models.
    /// </remarks>
    public void Validate(int? numLayers = null, int? vocabSize = null) => PolicyValidator.Validate(this, numLayers, vocabSize);

    /// <summary>Everything off: the dense baseline.</summary>
    public static QuickSilverPolicy Dense() => new()
    {
        Name = "dense",
        Halting = new HaltingPolicy { Enabled = false },
        KvSkip = new KvSkipPolicy { Enabled = false },
        Fusion = new FusionPolicy { Enabled = false },
        Quantization = new QuantizationPolicy { Enabled = false },
    };

    /// <summary>The default: conservative halting only, meant to cost less than 1% perplexity.</summary>
    /// <remarks>
    /// Halting uses relative drift (‖Δh‖/‖h‖ &lt; 0.02) and a logit-lens entropy below 0.1 nats, both so strict that they fire only for tokens the model is
    /// already near-certain about; the entropy is computed only for tokens that pass the drift test. Halted tokens keep propagating their K/V
    /// (<see cref="KvSkipMode.Propagate"/>, no skipping), so deeper layers still attend to them. Fusion and quantization are off. Negations and JSON
    /// structure are protected. These numbers are placeholders until calibrated ones (see <see cref="Calibration.ThresholdCalibrator"/>) replace them.
    /// </remarks>
    public static QuickSilverPolicy Safe() => new()
    {
        Name = "safe",
        Halting = new HaltingPolicy
        {
            Enabled = true,
            DriftMode = DriftMode.Relative,
            DriftThreshold = 0.02f,
            EntropyThreshold = 0.1f,
            EntropyMode = EntropySignalMode.DriftGated,
            MinLayer = 5,
        },
        KvSkip = new KvSkipPolicy { Enabled = false, Mode = KvSkipMode.Propagate },
        Fusion = new FusionPolicy { Enabled = false },
        Quantization = new QuantizationPolicy { Enabled = false },
        Lexicons = new TokenLexicons { ProtectNegations = true, ProtectJsonStructure = true },
    };

    /// <summary>The paper's published settings, all four mechanisms on.</summary>
    /// <remarks>
    /// <para>Halting: τ_drift = 0.045 on absolute drift and τ_halt = 1.15 (B.2), exact logit-lens entropy at every layer, minimum depth 5 (B.5).
    /// The paper contradicts itself: B.2 gives τ_drift = 0.045 and calls τ_halt "1.15 bits", while G.2 gives τ_drift = 10⁻³ and τ_halt = 1.15 with no unit.
    /// We take B.2's drift value and read 1.15 in nats, because the paper's entropy formula uses the natural log (1.15 bits would be 0.797 nats).
    /// G.2's halting window (layers 6–24 of 30) is not reproduced: halting may start up to L−1.</para>
    /// <para>KV skipping: halted tokens are skipped at deeper layers (2.2); the paper gives no numeric τ_kv, so the attention criterion is off.</para>
    /// <para>Fusion: τ_fuse = 0.15 on the absolute L2 distance (G.3), adjacent pairs only (no τ_attn value is published), uniform averaging (D.2),
    /// starting at half depth (G.3's "layer 12" of the 24-layer GPT-2).</para>
    /// <para>Quantization: τ_low = 1.0 and τ_high = 2.3 on raw entropy in nats (G.4, E.9; E.2's 0.3/0.6 apply to min-max normalized entropy),
    /// 2/4/8 bits decided at the middle layer (the paper's "layer 15 of 30"); rare tokens keep 8 bits (Figure 13). Number protection is ours, so it is off.</para>
    /// <para>Lexicons: negations are protected (B.5's halting blacklist); JSON protection is ours, so it is off.</para>
    /// </remarks>
    public static QuickSilverPolicy Paper() => new()
    {
        Name = "paper",
        Halting = new HaltingPolicy
        {
            Enabled = true,
            DriftMode = DriftMode.Absolute,
            DriftThreshold = 0.045f,
            EntropyThreshold = 1.15f,
            EntropyMode = EntropySignalMode.Exact,
            MinLayer = 5,
        },
        KvSkip = new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip, HaltingDelay = 0, AttentionThreshold = null },
        Fusion = new FusionPolicy
        {
            Enabled = true,
            DistanceThreshold = 0.15f,
            RelativeDistance = false,
            AttentionSimilarityThreshold = null,
            Weighting = FusionWeighting.Uniform,
            StartDepthFraction = 0.5f,
        },
        Quantization = new QuantizationPolicy
        {
            Enabled = true,
            DecisionLayer = null,
            Normalization = EntropyNormalization.None,
            LowThreshold = 1.0f,
            HighThreshold = 2.3f,
            LowBits = 2,
            MidBits = 4,
            HighBits = 8,
            ProtectNumbers = false,
            RareTokenIdFraction = 0.9f,
        },
        Lexicons = new TokenLexicons { ProtectNegations = true, ProtectJsonStructure = false },
    };

    /// <summary>Creates a fresh instance of a named preset (case-insensitive: "dense", "safe" or "paper").</summary>
    /// <param name="name">The preset name.</param>
    /// <exception cref="PolicyValidationException">The name is not a preset; the message lists the valid names.</exception>
    public static QuickSilverPolicy FromPreset(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "dense" => Dense(),
            "safe" => Safe(),
            "paper" => Paper(),
            _ => throw new PolicyValidationException(
                "Preset",
                $"Preset \"{name}\" is unknown; valid presets are {string.Join(", ", PresetNames.Select(n => $"\"{n}\""))}."),
        };
    }

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
