using QuickSilver.Policies;

namespace QuickSilver.Policies.Tests;

public class PresetTests
{
    [Fact]
    public void Dense_turns_everything_off()
    {
        var p = QuickSilverPolicy.Dense();
        Assert.Equal("dense", p.Name);
        Assert.True(p.IsDense);
        Assert.False(p.Halting.Enabled);
        Assert.False(p.KvSkip.Enabled);
        Assert.False(p.Fusion.Enabled);
        Assert.False(p.Quantization.Enabled);
    }

    [Fact]
    public void Paper_uses_the_published_numbers()
    {
        var p = QuickSilverPolicy.Paper();
        Assert.Equal("paper", p.Name);
        Assert.True(p.Halting.Enabled);
        Assert.Equal(DriftMode.Absolute, p.Halting.DriftMode);
        Assert.Equal(0.045f, p.Halting.DriftThreshold);
        Assert.Equal(1.15f, p.Halting.EntropyThreshold);
        Assert.Equal(5, p.Halting.MinLayer);
        Assert.True(p.KvSkip.Enabled);
        Assert.Equal(KvSkipMode.Skip, p.KvSkip.Mode);
        Assert.True(p.Fusion.Enabled);
        Assert.Equal(0.15f, p.Fusion.DistanceThreshold);
        Assert.False(p.Fusion.RelativeDistance);
        Assert.Equal(12, p.Fusion.ResolveStartLayer(24));
        Assert.True(p.Quantization.Enabled);
        Assert.Equal(EntropyNormalization.None, p.Quantization.Normalization);
        Assert.Equal(1.0f, p.Quantization.LowThreshold);
        Assert.Equal(2.3f, p.Quantization.HighThreshold);
        Assert.Equal((2, 4, 8), (p.Quantization.LowBits, p.Quantization.MidBits, p.Quantization.HighBits));
        Assert.Equal(15, p.Quantization.ResolveDecisionLayer(30));
        Assert.True(p.Lexicons.ProtectNegations);
    }

    [Fact]
    public void Safe_is_conservative_halting_with_propagated_kv()
    {
        var p = QuickSilverPolicy.Safe();
        Assert.Equal("safe", p.Name);
        Assert.True(p.Halting.Enabled);
        Assert.Equal(DriftMode.Relative, p.Halting.DriftMode);
        Assert.InRange(p.Halting.DriftThreshold, 0f, 0.05f);
        Assert.InRange(p.Halting.EntropyThreshold, 0f, 0.5f);
        Assert.False(p.Fusion.Enabled);
        Assert.False(p.Quantization.Enabled);
        Assert.Equal(KvSkipMode.Propagate, p.KvSkip.Mode);
        Assert.True(p.Lexicons.ProtectNegations);
        Assert.True(p.Lexicons.ProtectJsonStructure);
    }

    [Theory]
    [InlineData("dense", "dense")]
    [InlineData("SAFE", "safe")]
    [InlineData(" Paper ", "paper")]
    public void FromPreset_is_case_insensitive(string input, string expected) =>
        Assert.Equal(expected, QuickSilverPolicy.FromPreset(input).Name);

    [Fact]
    public void FromPreset_returns_fresh_instances()
    {
        var first = QuickSilverPolicy.FromPreset("paper");
        first.Halting.DriftThreshold = 9f;
        first.Lexicons.FullProcessing.Add("x");
        var second = QuickSilverPolicy.FromPreset("paper");
        Assert.Equal(0.045f, second.Halting.DriftThreshold);
        Assert.Empty(second.Lexicons.FullProcessing);
    }

    [Fact]
    public void Unknown_preset_lists_the_valid_names()
    {
        var e = Assert.Throws<PolicyValidationException>(() => QuickSilverPolicy.FromPreset("turbo"));
        Assert.Equal("Preset", e.Field);
        Assert.Contains("turbo", e.Message, StringComparison.Ordinal);
        foreach (var name in QuickSilverPolicy.PresetNames)
        {
            Assert.Contains($"\"{name}\"", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Clone_is_deep()
    {
        var original = QuickSilverPolicy.Paper();
        original.Halting.CheckpointLayers = [3, 6];
        original.Lexicons.FullProcessing = ["alpha"];
        original.Lexicons.FullProcessingIds = [7];
        var copy = original.Clone();
        copy.Halting.CheckpointLayers[0] = 99;
        copy.Lexicons.FullProcessing.Add("beta");
        copy.Lexicons.FullProcessingIds.Add(8);
        copy.Fusion.DistanceThreshold = 5f;
        copy.Quantization.LowBits = 4;

        Assert.Equal([3, 6], original.Halting.CheckpointLayers);
        Assert.Equal(["alpha"], original.Lexicons.FullProcessing);
        Assert.Equal([7], original.Lexicons.FullProcessingIds);
        Assert.Equal(0.15f, original.Fusion.DistanceThreshold);
        Assert.Equal(2, original.Quantization.LowBits);
    }

    [Theory]
    [InlineData(24, 5)]
    [InlineData(6, 5)]
    [InlineData(5, 4)]
    [InlineData(3, 2)]
    [InlineData(2, 1)]
    [InlineData(1, 1)]
    public void Min_layer_defaults_to_5_clamped_for_shallow_models(int numLayers, int expected) =>
        Assert.Equal(expected, new HaltingPolicy().ResolveMinLayer(numLayers));

    [Theory]
    [InlineData(30, null, 15)]
    [InlineData(5, null, 2)]
    [InlineData(1, null, 1)]
    [InlineData(12, 7, 7)]
    public void Decision_layer_defaults_to_the_middle(int numLayers, int? configured, int expected) =>
        Assert.Equal(expected, new QuantizationPolicy { DecisionLayer = configured }.ResolveDecisionLayer(numLayers));

    [Theory]
    [InlineData(12, null, 11)]
    [InlineData(1, null, 1)]
    [InlineData(12, 8, 8)]
    public void Window_end_defaults_to_the_last_but_one_layer(int numLayers, int? configured, int expected) =>
        Assert.Equal(expected, new HaltingPolicy { WindowEnd = configured }.ResolveWindowEnd(numLayers));

    [Theory]
    [InlineData(24, 0.5f, 1, 12)]
    [InlineData(30, 0.5f, 1, 15)]
    [InlineData(5, 0.5f, 1, 3)]
    [InlineData(1, 0.5f, 1, 1)]
    [InlineData(12, null, 4, 4)]
    [InlineData(3, null, 4, 3)]
    public void Fusion_start_scales_with_depth(int numLayers, float? fraction, int startLayer, int expected) =>
        Assert.Equal(expected, new FusionPolicy { StartDepthFraction = fraction, StartLayer = startLayer }.ResolveStartLayer(numLayers));

    [Fact]
    public void Halting_layers_are_the_window_and_the_checkpoints()
    {
        var halting = new HaltingPolicy { MinLayer = 5 };
        var window = Enumerable.Range(1, 12).Where(l => halting.IsHaltingLayer(l, 12));
        Assert.Equal([5, 6, 7, 8, 9, 10, 11], window);

        halting.EntropyMode = EntropySignalMode.CheckpointLayers;
        halting.CheckpointLayers = [3, 6, 9, 12];
        Assert.Equal([6, 9], Enumerable.Range(1, 12).Where(l => halting.IsHaltingLayer(l, 12)));
    }

    [Theory]
    [InlineData(0.5f, 2)]
    [InlineData(0.999f, 2)]
    [InlineData(1.0f, 4)]
    [InlineData(2.3f, 4)]
    [InlineData(2.31f, 8)]
    [InlineData(float.NaN, 8)]
    public void Bits_follow_the_three_bands(float entropy, int bits) =>
        Assert.Equal(bits, QuickSilverPolicy.Paper().Quantization.BitsFor(entropy));
}
