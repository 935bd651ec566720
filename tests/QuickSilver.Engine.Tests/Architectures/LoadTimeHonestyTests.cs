using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Tests.Loading;
using QuickSilver.Testing.Conformance;

namespace QuickSilver.Engine.Tests.Architectures;

/// <summary>Every known config field that changes the maths and is not implemented is rejected with a message naming it.</summary>
public sealed class LoadTimeHonestyTests
{
    public static TheoryData<string, string, string> UnsupportedHfFields() => new()
    {
        // model_type, field, JSON value
        { "llama", "rope_scaling", """{"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16}""" },
        { "llama", "rope_scaling", """{"rope_type": "dynamic", "factor": 2.0}""" },
        { "llama", "rope_scaling", """{"factor": 2.0}""" },
        { "llama", "partial_rotary_factor", "0.7" },
        { "phi3", "partial_rotary_factor", "1.5" },
        { "llama", "rope_scaling", """{"rope_type": "llama3", "factor": 8.0}""" },
        { "phi3", "rope_scaling", """{"rope_type": "longrope", "short_factor": [1.0]}""" },
        { "gemma2", "hidden_activation", "\"gelu\"" },
        { "mistral", "attn_logit_softcapping", "30.0" },
        { "qwen2", "final_logit_softcapping", "30.0" },
        { "gemma3_text", "rope_parameters", """{"sliding_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0}, "full_attention": {"rope_theta": 1000000.0}}""" },
        { "gemma2", "query_pre_attn_scalar", "-1" },
        { "llama", "hidden_act", "\"gelu\"" },
        { "mistral", "num_local_experts", "8" },
        { "qwen2", "num_experts", "4" },
        { "qwen3", "layer_types", """["sliding_attention", "chunked_attention", "full_attention"]""" },
        { "qwen3", "layer_types", """["sliding_attention", "full_attention"]""" },
    };

    [Theory]
    [MemberData(nameof(UnsupportedHfFields))]
    public void Hf_config_field_is_rejected_by_name(string modelType, string field, string json)
    {
        ArchitectureCase c = TinyArchitectures.All.First(a => a.HfModelType == modelType);
        using var temp = new TempDirectory();
        string folder = ArchitectureWriters.WriteHfFolder(c, c.Weights(), temp.SubDirectory("hf"));
        string configPath = Path.Combine(folder, "config.json");
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        config[field] = System.Text.Json.Nodes.JsonNode.Parse(json);
        File.WriteAllText(configPath, config.ToJsonString());
        var error = Assert.Throws<ModelFormatException>(() => HuggingFaceLoader.Load(folder));
        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, object> UnsupportedGgufKeys() => new()
    {
        { "llama", "rope.scaling.type", "yarn" },
        { "llama", "rope.scaling.type", "longrope" },
        { "llama", "rope.scaling.attn_factor", 1.5f },
        { "qwen2", "expert_count", 8u },
        { "qwen3", "attention.value_length", 8u },
        { "llama", "rope.dimension_count", 8u },
        { "phi3", "rope.dimension_count", 7u },
        { "gemma2", "rope.scaling.type", "yarn" },
    };

    [Theory]
    [MemberData(nameof(UnsupportedGgufKeys))]
    public void Gguf_metadata_key_is_rejected_by_name(string architecture, string key, object value)
    {
        ArchitectureCase c = TinyArchitectures.All.First(a => a.GgufArchitecture == architecture);
        ArchitectureCase variant = c.WithGgufMetadata(new Dictionary<string, object>(c.GgufMetadata) { [key] = value });
        using var temp = new TempDirectory();
        string path = ArchitectureWriters.WriteGguf(variant, c.Weights(), temp.File("m.gguf"));
        var error = Assert.Throws<ModelFormatException>(() => GgufLoader.Load(path));
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Scaling_factors_change_the_logits()
    {
        ArchitectureCase scaled = TinyArchitectures.Llama31;
        var weights = scaled.Weights();
        int[] tokens = TestModels.RandomTokens(40, 64, 9);
        float[] with = ArchitectureConformanceTests.Logits(weights, tokens);
        float[] without = ArchitectureConformanceTests.Logits(new CheckpointData(scaled.Config with { RopeScaling = null }, weights.Tensors, null, "unscaled"), tokens);
        Assert.True(TestModels.MaxAbsDiff(with, without) > 1e-2f);
    }
}
