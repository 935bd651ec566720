using QuickSilver.Testing;

namespace QuickSilver.Extensions.AI.Tests.Hosting;

public class OptionsValidationTests
{
    private static QuickSilverOptions Valid() => new() { ModelPath = SharedAssets.Stories260KBin };

    [Fact]
    public void ValidOptions_PassAndCloneIsDeep()
    {
        QuickSilverOptions options = Valid();
        Assert.Empty(QuickSilverOptionsValidator.GetFailures(options));
        options.Lexicons.FullProcessing.Add("x");
        options.PolicyOverrides.DriftThreshold = 1;
        QuickSilverOptions copy = options.Clone();
        copy.Lexicons.FullProcessing.Add("y");
        copy.PolicyOverrides.DriftThreshold = 2;
        Assert.Equal(["x"], options.Lexicons.FullProcessing);
        Assert.Equal(1, options.PolicyOverrides.DriftThreshold);
    }

    public static TheoryData<string, Action<QuickSilverOptions>> BadSettings => new()
    {
        { "ModelPath is required", o => o.ModelPath = null },
        { "ModelPath '/nope/model.bin' does not exist", o => o.ModelPath = "/nope/model.bin" },
        { "Format 'onnx'", o => o.Format = "onnx" },
        { "Format is 'gguf'", o => o.Format = "gguf" },
        { "TokenizerPath", o => o.TokenizerPath = "/nope/tok.bin" },
        { "Device 'tpu'", o => o.Device = "tpu" },
        { "Threads", o => o.Threads = -1 },
        { "ContextLength", o => o.ContextLength = 0 },
        { "KvCacheType must be Float32, Float16 or BFloat16", o => o.KvCacheType = (QuickSilver.Engine.KvCacheType)7 },
        { "KvCacheType Float16 cannot hold the packed K/V", o => { o.KvCacheType = QuickSilver.Engine.KvCacheType.Float16; o.Policy = "paper"; } },
        { "MaxOutputTokens", o => o.MaxOutputTokens = 0 },
        { "Temperature", o => o.Temperature = float.NaN },
        { "TopP", o => o.TopP = 0 },
        { "TopK", o => o.TopK = -3 },
        { "RepetitionPenalty", o => o.RepetitionPenalty = 0 },
        { "FrequencyPenalty", o => o.FrequencyPenalty = 3 },
        { "PresencePenalty", o => o.PresencePenalty = -2.5f },
        { "Policy 'warp'", o => o.Policy = "warp" },
        { "PolicyPath '/nope/policy.json'", o => o.PolicyPath = "/nope/policy.json" },
        { "PolicyOverrides:DriftThreshold", o => o.PolicyOverrides.DriftThreshold = -1 },
        { "PolicyOverrides:EntropyThreshold", o => o.PolicyOverrides.EntropyThreshold = float.NaN },
        { "PolicyOverrides:QuantizationLowThreshold (3) must not exceed", o => { o.PolicyOverrides.QuantizationLowThreshold = 3; o.PolicyOverrides.QuantizationHighThreshold = 1; } },
        { "Lexicons:FullProcessing contains an empty entry", o => o.Lexicons.FullProcessing.Add(" ") },
        { "Lexicons:ForcedHaltIds contains a negative", o => o.Lexicons.ForcedHaltIds.Add(-4) },
        { "'not' is in both ForcedHalt and FullProcessing", o => { o.Lexicons.ForcedHalt.Add("not"); o.Lexicons.FullProcessing.Add("not"); } },
        { "Template 'alpaca'", o => o.Template = "alpaca" },
        { "TemplateText is not a valid chat template", o => o.TemplateText = "{% for m in messages %}" },
        { "MaxCachedConversations", o => o.MaxCachedConversations = 0 },
        { "MaxConstrainedStringLength", o => o.MaxConstrainedStringLength = 0 },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void EachBadSetting_FailsWithAMessageNamingIt(string expected, Action<QuickSilverOptions> spoil)
    {
        QuickSilverOptions options = Valid();
        spoil(options);
        var result = new QuickSilverOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        string failure = Assert.Single(result.Failures!);
        Assert.Contains(expected, failure);
        Assert.StartsWith("QuickSilver:", failure);
    }

    [Fact]
    public void HalfKvCache_IsValidWithAPolicyThatDoesNotPackKv()
    {
        QuickSilverOptions options = Valid();
        options.KvCacheType = QuickSilver.Engine.KvCacheType.BFloat16;
        Assert.Empty(QuickSilverOptionsValidator.GetFailures(options));
        options.Policy = "paper";
        options.PolicyOverrides.Quantization = false;
        Assert.Empty(QuickSilverOptionsValidator.GetFailures(options));
        Assert.Equal(QuickSilver.Engine.KvCacheType.BFloat16, options.Clone().KvCacheType);
    }

    [Fact]
    public void SeveralBadSettings_AreAllReported()
    {
        var options = new QuickSilverOptions { ModelPath = null, Threads = -1, TopP = 2 };
        Assert.Equal(3, QuickSilverOptionsValidator.GetFailures(options).Count());
    }

    [Fact]
    public void Constructor_RejectsInvalidOptionsNamingThem()
    {
        var ex = Assert.Throws<QuickSilverException>(() => new QuickSilverChatClient(new QuickSilverOptions { ModelPath = "/nope.bin", MaxCachedConversations = 0 }));
        Assert.Contains("ModelPath", ex.Message);
        Assert.Contains("MaxCachedConversations", ex.Message);
    }

    [Fact]
    public void PolicyFile_IsLoadedAndOverridesThePreset()
    {
        string path = Path.Combine(Path.GetTempPath(), $"qs-policy-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, QuickSilver.Policies.PolicySerializer.ToJson(QuickSilver.Policies.QuickSilverPolicy.Paper()));
        try
        {
            QuickSilverOptions options = Valid();
            options.PolicyPath = path;
            options.Policy = "dense";
            Assert.Empty(QuickSilverOptionsValidator.GetFailures(options));
            Assert.Equal("paper", QuickSilver.Extensions.AI.Policy.PolicyComposer.Compose(options).Name);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void PolicyFile_Invalid_ThrowsNamingPolicyPath()
    {
        string path = Path.Combine(Path.GetTempPath(), $"qs-policy-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, "{ not json");
        try
        {
            QuickSilverOptions options = Valid();
            options.PolicyPath = path;
            var ex = Assert.ThrowsAny<QuickSilverException>(() => QuickSilver.Extensions.AI.Policy.PolicyComposer.Compose(options));
            Assert.Contains("PolicyPath", ex.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
