using System.Text.Json;
using System.Text.Json.Serialization;
using QuickSilver.Policies;

namespace QuickSilver.Extensions.AI.Policy;

/// <summary>
/// Named presets and policy files. The preset values mirror QuickSilver.Policies' presets; when that project's
/// <c>QuickSilverPolicy.FromPreset</c> / <c>PolicySerializer.Load</c> are on main, these two methods forward to them.
/// </summary>
internal static class PolicyCatalog
{
    public static IReadOnlyList<string> PresetNames { get; } = ["dense", "safe", "paper"];

    private static readonly JsonSerializerOptions FileOptions = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public static bool IsPreset(string? name) => name is not null && PresetNames.Contains(name.Trim().ToLowerInvariant());

    /// <exception cref="ArgumentException">Unknown preset.</exception>
    public static QuickSilverPolicy FromPreset(string name, string settingName)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "dense" => new QuickSilverPolicy { Name = "dense" },
            "safe" => new QuickSilverPolicy
            {
                Name = "safe",
                Halting = new HaltingPolicy { Enabled = true, DriftMode = DriftMode.Relative, DriftThreshold = 0.02f, EntropyThreshold = 0.1f, EntropyMode = EntropySignalMode.DriftGated, MinLayer = 5 },
                KvSkip = new KvSkipPolicy { Enabled = false, Mode = KvSkipMode.Propagate },
                Lexicons = new TokenLexicons { ProtectNegations = true, ProtectJsonStructure = true },
            },
            "paper" => new QuickSilverPolicy
            {
                Name = "paper",
                Halting = new HaltingPolicy { Enabled = true, DriftMode = DriftMode.Absolute, DriftThreshold = 0.045f, EntropyThreshold = 1.15f, EntropyMode = EntropySignalMode.Exact, MinLayer = 5 },
                KvSkip = new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip },
                Fusion = new FusionPolicy { Enabled = true, DistanceThreshold = 0.15f, RelativeDistance = false, Weighting = FusionWeighting.Uniform },
                Quantization = new QuantizationPolicy { Enabled = true, Normalization = EntropyNormalization.None, LowThreshold = 1.0f, HighThreshold = 2.3f, ProtectNumbers = false, RareTokenIdFraction = 0.9f },
                Lexicons = new TokenLexicons { ProtectNegations = true, ProtectJsonStructure = false },
            },
            _ => throw new ArgumentException($"{settingName}: unknown policy preset '{name}'; expected one of {string.Join(", ", PresetNames)}.", settingName),
        };
    }

    /// <exception cref="QuickSilverException">The file is missing or not a policy.</exception>
    public static QuickSilverPolicy Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new QuickSilverException($"PolicyPath: the policy file '{path}' does not exist.");
        }
        try
        {
            return JsonSerializer.Deserialize<QuickSilverPolicy>(File.ReadAllText(path), FileOptions)
                ?? throw new QuickSilverException($"PolicyPath: the policy file '{path}' is empty.");
        }
        catch (JsonException ex)
        {
            throw new QuickSilverException($"PolicyPath: the policy file '{path}' is not valid policy JSON: {ex.Message}", ex);
        }
    }
}
