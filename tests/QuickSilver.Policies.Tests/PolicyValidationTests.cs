using QuickSilver.Policies;

namespace QuickSilver.Policies.Tests;

public class PolicyValidationTests
{
    private const int Layers = 12;
    private const int Vocab = 1000;

    private sealed record Case(Action<QuickSilverPolicy> Mutate, string Field, string ValueText, int? NumLayers = Layers, int? VocabSize = Vocab);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["name empty"] = new(p => p.Name = "", "Name", "\"\""),
        ["halting null"] = new(p => p.Halting = null!, "Halting", "null"),
        ["kvskip null"] = new(p => p.KvSkip = null!, "KvSkip", "null"),
        ["fusion null"] = new(p => p.Fusion = null!, "Fusion", "null"),
        ["quantization null"] = new(p => p.Quantization = null!, "Quantization", "null"),
        ["lexicons null"] = new(p => p.Lexicons = null!, "Lexicons", "null"),
        ["drift NaN"] = new(p => p.Halting.DriftThreshold = float.NaN, "Halting.DriftThreshold", "NaN"),
        ["drift +inf"] = new(p => p.Halting.DriftThreshold = float.PositiveInfinity, "Halting.DriftThreshold", float.PositiveInfinity.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ["drift negative"] = new(p => p.Halting.DriftThreshold = -0.1f, "Halting.DriftThreshold", "-0.1"),
        ["entropy negative"] = new(p => p.Halting.EntropyThreshold = -1f, "Halting.EntropyThreshold", "-1"),
        ["entropy -inf"] = new(p => p.Halting.EntropyThreshold = float.NegativeInfinity, "Halting.EntropyThreshold", float.NegativeInfinity.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ["drift mode undefined"] = new(p => p.Halting.DriftMode = (DriftMode)7, "Halting.DriftMode", "7"),
        ["entropy mode undefined"] = new(p => p.Halting.EntropyMode = (EntropySignalMode)9, "Halting.EntropyMode", "9"),
        ["min layer 0"] = new(p => p.Halting.MinLayer = 0, "Halting.MinLayer", "0"),
        ["window end above depth"] = new(p => p.Halting.WindowEnd = 13, "Halting.WindowEnd", "13"),
        ["window end 0"] = new(p => p.Halting.WindowEnd = 0, "Halting.WindowEnd", "0", NumLayers: null),
        ["window end below min layer"] = new(p => p.Halting.WindowEnd = 3, "Halting.WindowEnd", "3"),
        ["proxy top-k 0"] = new(p => p.Halting.ProxyTopK = 0, "Halting.ProxyTopK", "0"),
        ["proxy top-k above vocab"] = new(p => { p.Halting.EntropyMode = EntropySignalMode.Proxy; p.Halting.ProxyTopK = 2000; }, "Halting.ProxyTopK", "2000"),
        ["checkpoints empty in checkpoint mode"] = new(p => p.Halting.EntropyMode = EntropySignalMode.CheckpointLayers, "Halting.CheckpointLayers", "empty"),
        ["checkpoint above depth"] = new(p => p.Halting.CheckpointLayers = [6, 13], "Halting.CheckpointLayers[1]", "13"),
        ["checkpoint 0"] = new(p => p.Halting.CheckpointLayers = [0], "Halting.CheckpointLayers[0]", "0", NumLayers: null),
        ["checkpoint repeated"] = new(p => p.Halting.CheckpointLayers = [6, 8, 6], "Halting.CheckpointLayers[2]", "6"),
        ["checkpoints null"] = new(p => p.Halting.CheckpointLayers = null!, "Halting.CheckpointLayers", "null"),
        ["kv halting delay negative"] = new(p => p.KvSkip.HaltingDelay = -1, "KvSkip.HaltingDelay", "-1"),
        ["kv attention above 1"] = new(p => p.KvSkip.AttentionThreshold = 1.5f, "KvSkip.AttentionThreshold", "1.5"),
        ["kv attention negative"] = new(p => p.KvSkip.AttentionThreshold = -0.1f, "KvSkip.AttentionThreshold", "-0.1"),
        ["kv attention NaN"] = new(p => p.KvSkip.AttentionThreshold = float.NaN, "KvSkip.AttentionThreshold", "NaN"),
        ["kv mode undefined"] = new(p => p.KvSkip.Mode = (KvSkipMode)5, "KvSkip.Mode", "5"),
        ["fuse distance negative"] = new(p => p.Fusion.DistanceThreshold = -1f, "Fusion.DistanceThreshold", "-1"),
        ["fuse distance NaN"] = new(p => p.Fusion.DistanceThreshold = float.NaN, "Fusion.DistanceThreshold", "NaN"),
        ["fuse similarity above 1"] = new(p => p.Fusion.AttentionSimilarityThreshold = 1.5f, "Fusion.AttentionSimilarityThreshold", "1.5"),
        ["fuse similarity below -1"] = new(p => p.Fusion.AttentionSimilarityThreshold = -1.5f, "Fusion.AttentionSimilarityThreshold", "-1.5"),
        ["fuse window 0"] = new(p => p.Fusion.AttentionWindow = 0, "Fusion.AttentionWindow", "0"),
        ["fuse start 0"] = new(p => p.Fusion.StartLayer = 0, "Fusion.StartLayer", "0", NumLayers: null),
        ["fuse start above depth"] = new(p => p.Fusion.StartLayer = 13, "Fusion.StartLayer", "13"),
        ["fuse start fraction 0"] = new(p => p.Fusion.StartDepthFraction = 0f, "Fusion.StartDepthFraction", "0"),
        ["fuse start fraction above 1"] = new(p => p.Fusion.StartDepthFraction = 1.5f, "Fusion.StartDepthFraction", "1.5"),
        ["fuse weighting undefined"] = new(p => p.Fusion.Weighting = (FusionWeighting)4, "Fusion.Weighting", "4"),
        ["quant thresholds inverted"] = new(p => p.Quantization.LowThreshold = 3f, "Quantization.LowThreshold", "3"),
        ["quant low NaN"] = new(p => p.Quantization.LowThreshold = float.NaN, "Quantization.LowThreshold", "NaN"),
        ["quant high negative"] = new(p => p.Quantization.HighThreshold = -1f, "Quantization.HighThreshold", "-1"),
        ["quant high above 1 when normalized"] = new(p => p.Quantization.Normalization = EntropyNormalization.LogVocab, "Quantization.HighThreshold", "2.3"),
        ["quant low above 1 when normalized"] = new(p => { p.Quantization.Normalization = EntropyNormalization.MinMax; p.Quantization.LowThreshold = 1.2f; p.Quantization.HighThreshold = 0.5f; }, "Quantization.LowThreshold", "1.2"),
        ["quant normalization undefined"] = new(p => p.Quantization.Normalization = (EntropyNormalization)8, "Quantization.Normalization", "8"),
        ["low bits 3"] = new(p => p.Quantization.LowBits = 3, "Quantization.LowBits", "3"),
        ["mid bits 16"] = new(p => p.Quantization.MidBits = 16, "Quantization.MidBits", "16"),
        ["high bits 1"] = new(p => p.Quantization.HighBits = 1, "Quantization.HighBits", "1"),
        ["low bits above mid bits"] = new(p => p.Quantization.LowBits = 8, "Quantization.MidBits", "4"),
        ["mid bits above high bits"] = new(p => { p.Quantization.MidBits = 8; p.Quantization.HighBits = 4; }, "Quantization.HighBits", "4"),
        ["group size 0"] = new(p => p.Quantization.GroupSize = 0, "Quantization.GroupSize", "0"),
        ["head width without weight widths"] = new(p => { p.Quantization.QuantizeWeights = false; p.Quantization.QuantizeHead = true; }, "Quantization.QuantizeHead", "True"),
        ["group size negative"] = new(p => p.Quantization.GroupSize = -32, "Quantization.GroupSize", "-32"),
        ["decision layer 0"] = new(p => p.Quantization.DecisionLayer = 0, "Quantization.DecisionLayer", "0", NumLayers: null),
        ["decision layer above depth"] = new(p => p.Quantization.DecisionLayer = 13, "Quantization.DecisionLayer", "13"),
        ["rare fraction 0"] = new(p => p.Quantization.RareTokenIdFraction = 0f, "Quantization.RareTokenIdFraction", "0"),
        ["rare fraction above 1"] = new(p => p.Quantization.RareTokenIdFraction = 1.5f, "Quantization.RareTokenIdFraction", "1.5"),
        ["rare fraction NaN"] = new(p => p.Quantization.RareTokenIdFraction = float.NaN, "Quantization.RareTokenIdFraction", "NaN"),
        ["forced halt id negative"] = new(p => p.Lexicons.ForcedHaltIds = [3, -1], "Lexicons.ForcedHaltIds[1]", "-1", VocabSize: null),
        ["full processing id at vocab"] = new(p => p.Lexicons.FullProcessingIds = [Vocab], "Lexicons.FullProcessingIds[0]", "1000"),
        ["quant override id negative"] = new(p => p.Lexicons.QuantizationOverrideIds = [-5], "Lexicons.QuantizationOverrideIds[0]", "-5"),
        ["retention id at vocab"] = new(p => p.Lexicons.ForcedRetentionIds = [1, Vocab], "Lexicons.ForcedRetentionIds[1]", "1000"),
        ["retention word blank"] = new(p => p.Lexicons.ForcedRetention = [""], "Lexicons.ForcedRetention[0]", "\"\""),
        ["forced halt word blank"] = new(p => p.Lexicons.ForcedHalt = ["ok", "  "], "Lexicons.ForcedHalt[1]", "\"  \""),
        ["full processing word only wildcard"] = new(p => p.Lexicons.FullProcessing = ["*"], "Lexicons.FullProcessing[0]", "\"*\""),
        ["quant override word null"] = new(p => p.Lexicons.QuantizationOverride = [null!], "Lexicons.QuantizationOverride[0]", "null"),
        ["full processing list null"] = new(p => p.Lexicons.FullProcessing = null!, "Lexicons.FullProcessing", "null"),
        ["forced halt ids null"] = new(p => p.Lexicons.ForcedHaltIds = null!, "Lexicons.ForcedHaltIds", "null"),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Invalid_setting_is_rejected_with_its_field_and_value(string name)
    {
        var c = Cases[name];
        var policy = QuickSilverPolicy.Paper();
        policy.Validate(c.NumLayers, c.VocabSize); // the base policy is valid; only the mutation breaks it
        c.Mutate(policy);

        var e = Assert.Throws<PolicyValidationException>(() => policy.Validate(c.NumLayers, c.VocabSize));

        Assert.Equal(c.Field, e.Field);
        Assert.Contains(c.Field, e.Message, StringComparison.Ordinal);
        Assert.Contains(c.ValueText, e.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<QuickSilverException>(e);
        Assert.Null(e.FilePath);
    }

    [Fact]
    public void Inverted_quantization_thresholds_say_so()
    {
        var policy = QuickSilverPolicy.Paper();
        policy.Quantization.LowThreshold = 3f;
        var e = Assert.Throws<PolicyValidationException>(() => policy.Validate());
        Assert.Contains("inverted", e.Message, StringComparison.Ordinal);
        Assert.Contains("2.3", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(12)]
    [InlineData(24)]
    [InlineData(32)]
    public void Every_preset_is_valid_for_any_depth(int numLayers)
    {
        foreach (var name in QuickSilverPolicy.PresetNames)
        {
            QuickSilverPolicy.FromPreset(name).Validate(numLayers, vocabSize: 512);
        }
    }

    [Fact]
    public void Boundary_values_are_accepted()
    {
        var policy = QuickSilverPolicy.Paper();
        policy.Halting.DriftThreshold = 0f;
        policy.Halting.EntropyMode = EntropySignalMode.CheckpointLayers;
        policy.Halting.CheckpointLayers = [Layers, 1];
        policy.Halting.WindowEnd = Layers;
        policy.Halting.ProxyTopK = Vocab;
        policy.KvSkip.AttentionThreshold = 1f;
        policy.KvSkip.HaltingDelay = 0;
        policy.Fusion.AttentionSimilarityThreshold = -1f;
        policy.Fusion.StartLayer = Layers;
        policy.Fusion.StartDepthFraction = 1f;
        policy.Quantization.LowThreshold = 2.3f;
        policy.Quantization.LowBits = 4;
        policy.Quantization.MidBits = 4;
        policy.Quantization.DecisionLayer = Layers;
        policy.Quantization.RareTokenIdFraction = 1f;
        policy.Lexicons.FullProcessingIds = [0, Vocab - 1];
        policy.Lexicons.FullProcessing = ["*n't", "neg*"];

        policy.Validate(Layers, Vocab);
    }

    [Fact]
    public void MinLayer_is_a_clamped_floor_not_bounded_by_depth()
    {
        var policy = QuickSilverPolicy.Safe();
        policy.Halting.MinLayer = 50;
        policy.Validate(numLayers: Layers);
        Assert.Equal(Layers - 1, policy.Halting.ResolveMinLayer(Layers));
    }

    [Fact]
    public void Layer_bounds_are_only_checked_when_depth_is_known()
    {
        var policy = QuickSilverPolicy.Paper();
        policy.Quantization.DecisionLayer = 40;
        policy.Validate();
        Assert.Throws<PolicyValidationException>(() => policy.Validate(numLayers: 32));
    }

    [Theory]
    [InlineData(0, null)]
    [InlineData(null, 0)]
    public void Nonsense_model_dimensions_are_argument_errors(int? numLayers, int? vocabSize) =>
        Assert.ThrowsAny<ArgumentOutOfRangeException>(() => QuickSilverPolicy.Safe().Validate(numLayers, vocabSize));
}
