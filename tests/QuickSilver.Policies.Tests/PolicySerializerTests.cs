using System.Collections;
using System.Reflection;
using System.Text;
using QuickSilver.Policies;

namespace QuickSilver.Policies.Tests;

public sealed class PolicySerializerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qs-policy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Presets => [.. QuickSilverPolicy.PresetNames];

    [Theory]
    [MemberData(nameof(Presets))]
    public void Every_preset_round_trips(string name)
    {
        var original = QuickSilverPolicy.FromPreset(name);
        var json = PolicySerializer.ToJson(original);
        var back = PolicySerializer.FromJson(json);
        AssertDeepEqual(original, back, "policy");
        Assert.Equal(json, PolicySerializer.ToJson(back));
    }

    [Fact]
    public void A_policy_with_every_field_changed_round_trips()
    {
        var p = new QuickSilverPolicy
        {
            Name = "everything",
            Halting = new HaltingPolicy
            {
                Enabled = true, DriftThreshold = 0.125f, DriftMode = DriftMode.Absolute, EntropyThreshold = 0.75f,
                EntropyMode = EntropySignalMode.CheckpointLayers, CheckpointLayers = [4, 8], ProxyTopK = 17, MinLayer = 3, WindowEnd = 9,
            },
            KvSkip = new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Propagate, HaltingDelay = 2, AttentionThreshold = 0.05f },
            Fusion = new FusionPolicy
            {
                Enabled = true, DistanceThreshold = 0.3f, RelativeDistance = false, AttentionSimilarityThreshold = -0.25f,
                AttentionWindow = 3, Weighting = FusionWeighting.Probability, StartLayer = 6, StartDepthFraction = 0.25f,
            },
            Quantization = new QuantizationPolicy
            {
                Enabled = true, DecisionLayer = 5, Normalization = EntropyNormalization.MinMax, LowThreshold = 0.2f, HighThreshold = 0.7f,
                LowBits = 4, MidBits = 4, HighBits = 8, GroupSize = 64, QuantizeActivations = false, QuantizeWeights = true, QuantizeHead = true, QuantizeKv = false,
                ProtectNumbers = false, RareTokenIdFraction = null,
            },
            Lexicons = new TokenLexicons
            {
                ForcedHalt = ["the"], FullProcessing = ["get_weather", "*n't"], QuantizationOverride = ["Einstein"],
                ForcedHaltIds = [1], FullProcessingIds = [2, 3], QuantizationOverrideIds = [4],
                ProtectNegations = false, ProtectJsonStructure = false,
            },
        };

        var back = PolicySerializer.FromJson(PolicySerializer.ToJson(p));

        AssertDeepEqual(p, back, "policy");
    }

    [Fact]
    public void Json_is_camel_case_with_string_enums()
    {
        var json = PolicySerializer.ToJson(QuickSilverPolicy.Paper());
        Assert.Contains("\"driftMode\": \"absolute\"", json, StringComparison.Ordinal);
        Assert.Contains("\"normalization\": \"none\"", json, StringComparison.Ordinal);
        Assert.Contains("\"driftThreshold\": 0.045", json, StringComparison.Ordinal);
        Assert.DoesNotContain("isDense", json, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("DriftThreshold", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Comments_and_trailing_commas_are_allowed_and_missing_fields_keep_defaults()
    {
        const string json = """
            // a hand-written policy
            {
              "name": "hand", /* inline */
              "halting": { "enabled": true, "driftThreshold": 0.01, "entropyThreshold": 0.2, },
            }
            """;
        var p = PolicySerializer.FromJson(json);
        Assert.Equal("hand", p.Name);
        Assert.True(p.Halting.Enabled);
        Assert.Equal(0.01f, p.Halting.DriftThreshold);
        Assert.Equal(new HaltingPolicy().MinLayer, p.Halting.MinLayer);
        Assert.Equal(DriftMode.Relative, p.Halting.DriftMode);
        Assert.False(p.Quantization.Enabled);
    }

    [Fact]
    public void Enum_names_are_read_case_insensitively()
    {
        var p = PolicySerializer.FromJson("""{ "halting": { "driftMode": "Absolute" } }""");
        Assert.Equal(DriftMode.Absolute, p.Halting.DriftMode);
    }

    [Theory]
    [InlineData("""{ "halting": { "bogus": 1 } }""", "bogus")]
    [InlineData("""{ "turbo": true }""", "turbo")]
    public void Unknown_property_is_an_error_naming_it(string json, string property)
    {
        var e = Assert.Throws<PolicyValidationException>(() => PolicySerializer.FromJson(json));
        Assert.Contains(property, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("$", e.Field, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "halting": { "driftThreshold": "abc" } }""", "$.halting.driftThreshold")]
    [InlineData("""{ "halting": { "driftThreshold": "0.5" } }""", "$.halting.driftThreshold")]
    [InlineData("""{ "halting": { "driftThreshold": NaN } }""", "$.halting.driftThreshold")]
    [InlineData("""{ "halting": { "driftThreshold": "NaN" } }""", "$.halting.driftThreshold")]
    [InlineData("""{ "halting": { "minLayer": 2.5 } }""", "$.halting.minLayer")]
    [InlineData("""{ "halting": { "enabled": "yes" } }""", "$.halting.enabled")]
    [InlineData("""{ "halting": { "driftMode": 1 } }""", "$.halting.driftMode")]
    [InlineData("""{ "halting": { "driftMode": "sideways" } }""", "$.halting.driftMode")]
    [InlineData("""{ "halting": { "checkpointLayers": [1, "two"] } }""", "$.halting.checkpointLayers")]
    [InlineData("""{ "halting": [] }""", "$.halting")]
    public void Wrong_types_are_errors_naming_the_json_path(string json, string path)
    {
        var e = Assert.Throws<PolicyValidationException>(() => PolicySerializer.FromJson(json));
        Assert.StartsWith(path, e.Field, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("line 1", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "halting": null }""", "$.halting")]
    [InlineData("""{ "name": null }""", "$.name")]
    [InlineData("""{ "halting": { "checkpointLayers": null } }""", "$.halting.checkpointLayers")]
    [InlineData("""{ "lexicons": { "forcedHalt": null } }""", "$.lexicons.forcedHalt")]
    public void Null_where_a_value_is_required_is_an_error(string json, string path)
    {
        var e = Assert.Throws<PolicyValidationException>(() => PolicySerializer.FromJson(json));
        Assert.StartsWith(path, e.Field, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_list_element_is_caught_by_validation()
    {
        var e = Assert.Throws<PolicyValidationException>(() => PolicySerializer.FromJson("""{ "lexicons": { "forcedHalt": ["a", null] } }"""));
        Assert.Equal("Lexicons.ForcedHalt[1]", e.Field);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("42")]
    [InlineData("")]
    [InlineData("{ \"halting\": { ")]
    [InlineData("{ \"name\": \"a\" } trailing")]
    [InlineData("{ \"name\": \"a\", \"name\": \"b\" }")]
    public void Malformed_documents_are_errors(string json)
    {
        var e = Assert.Throws<PolicyValidationException>(() => PolicySerializer.FromJson(json));
        Assert.StartsWith("$", e.Field, StringComparison.Ordinal);
    }

    [Fact]
    public void Deep_nesting_is_rejected()
    {
        var json = "{ \"name\": " + new string('[', 40) + new string(']', 40) + " }";
        Assert.Throws<PolicyValidationException>(() => PolicySerializer.FromJson(json));
    }

    [Fact]
    public void Overflowing_number_is_rejected()
    {
        var e = Assert.Throws<PolicyValidationException>(() => PolicySerializer.FromJson("""{ "halting": { "driftThreshold": 1e39 } }"""));
        Assert.Contains("driftthreshold", e.Field, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Invalid_values_are_rejected_after_parsing()
    {
        var e = Assert.Throws<PolicyValidationException>(() => PolicySerializer.FromJson("""{ "halting": { "driftThreshold": -1 } }"""));
        Assert.Equal("Halting.DriftThreshold", e.Field);
    }

    [Fact]
    public void Depth_and_vocabulary_are_checked_when_given()
    {
        const string json = """{ "quantization": { "decisionLayer": 20 }, "lexicons": { "fullProcessingIds": [600] } }""";
        Assert.Equal("Quantization.DecisionLayer", Assert.Throws<PolicyValidationException>(() => PolicySerializer.FromJson(json, numLayers: 12)).Field);
        Assert.Equal("Lexicons.FullProcessingIds[0]", Assert.Throws<PolicyValidationException>(() => PolicySerializer.FromJson(json, vocabSize: 512)).Field);
        PolicySerializer.FromJson(json, numLayers: 24, vocabSize: 1000);
    }

    [Fact]
    public void Text_over_one_mebibyte_is_rejected_before_parsing()
    {
        var json = "{" + new string(' ', PolicySerializer.MaxJsonBytes) + "}";
        var e = Assert.Throws<PolicyValidationException>(() => PolicySerializer.FromJson(json));
        Assert.Equal("$", e.Field);
        Assert.Contains(PolicySerializer.MaxJsonBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Save_then_Load_round_trips_through_a_file()
    {
        var path = Path.Combine(_dir, "nested", "paper.json");
        PolicySerializer.Save(QuickSilverPolicy.Paper(), path);
        var bytes = File.ReadAllBytes(path);
        Assert.NotEqual(0xEF, bytes[0]);
        AssertDeepEqual(QuickSilverPolicy.Paper(), PolicySerializer.Load(path), "policy");
    }

    [Fact]
    public void Load_accepts_a_byte_order_mark()
    {
        var path = Path.Combine(_dir, "bom.json");
        File.WriteAllText(path, """{ "name": "bom" }""", new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        Assert.Equal("bom", PolicySerializer.Load(path).Name);
    }

    [Fact]
    public void Load_names_the_file_in_parse_errors()
    {
        var path = Path.Combine(_dir, "broken.json");
        File.WriteAllText(path, """{ "halting": { "bogus": 1 } }""");
        var e = Assert.Throws<PolicyValidationException>(() => PolicySerializer.Load(path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("bogus", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_names_the_file_in_validation_errors()
    {
        var path = Path.Combine(_dir, "invalid.json");
        File.WriteAllText(path, """{ "quantization": { "lowBits": 3 } }""");
        var e = Assert.Throws<PolicyValidationException>(() => PolicySerializer.Load(path));
        Assert.Equal("Quantization.LowBits", e.Field);
        Assert.Equal(path, e.FilePath);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("Quantization.LowBits", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_rejects_a_file_over_the_limit()
    {
        var path = Path.Combine(_dir, "huge.json");
        File.WriteAllText(path, "{" + new string(' ', PolicySerializer.MaxJsonBytes) + "}");
        var e = Assert.Throws<PolicyValidationException>(() => PolicySerializer.Load(path));
        Assert.Equal(path, e.FilePath);
    }

    [Fact]
    public void Load_of_a_missing_file_names_it()
    {
        var path = Path.Combine(_dir, "missing.json");
        var e = Assert.Throws<QuickSilverException>(() => PolicySerializer.Load(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Save_refuses_an_invalid_policy_and_writes_nothing()
    {
        var path = Path.Combine(_dir, "never.json");
        var p = QuickSilverPolicy.Safe();
        p.Halting.DriftThreshold = float.NaN;
        Assert.Equal("Halting.DriftThreshold", Assert.Throws<PolicyValidationException>(() => PolicySerializer.Save(p, path)).Field);
        Assert.False(File.Exists(path));
    }

    /// <summary>Compares every public read-write property recursively, so a field the serializer drops fails the round trip.</summary>
    internal static void AssertDeepEqual(object? expected, object? actual, string path)
    {
        if (expected is null || actual is null)
        {
            Assert.True(expected is null && actual is null, $"{path}: {expected ?? "null"} vs {actual ?? "null"}");
            return;
        }

        var type = expected.GetType();
        Assert.Equal(type, actual.GetType());
        if (type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal))
        {
            Assert.True(Equals(expected, actual), $"{path}: expected {expected}, got {actual}");
            return;
        }

        if (expected is IEnumerable e1 && actual is IEnumerable e2)
        {
            var a = e1.Cast<object?>().ToList();
            var b = e2.Cast<object?>().ToList();
            Assert.True(a.Count == b.Count, $"{path}: {a.Count} vs {b.Count} items");
            for (var i = 0; i < a.Count; i++)
            {
                AssertDeepEqual(a[i], b[i], $"{path}[{i}]");
            }

            return;
        }

        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanRead && p.CanWrite))
        {
            AssertDeepEqual(property.GetValue(expected), property.GetValue(actual), $"{path}.{property.Name}");
        }
    }
}
