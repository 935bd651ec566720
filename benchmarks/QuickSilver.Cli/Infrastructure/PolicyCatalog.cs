using System.Text.Json;
using System.Text.Json.Serialization;
using QuickSilver.Policies;

namespace QuickSilver.Cli.Infrastructure;

/// <summary>
/// Resolves --policy (a preset name or a JSON file) and saves policies. Adapter over the Policies library:
/// presets and the serializer live there once merged; until then the same presets are defined here.
/// </summary>
internal static class PolicyCatalog
{
    public static readonly string[] PresetNames = ["dense", "safe", "paper"];

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Null for dense; otherwise the named preset or the policy read from a JSON file.</summary>
    public static QuickSilverPolicy Resolve(string? value, string option = "--policy")
    {
        if (string.IsNullOrWhiteSpace(value)) return Dense();
        string name = value.Trim().ToLowerInvariant();
        if (name == "dense") return Dense();
        if (name == "safe") return Safe();
        if (name == "paper") return Paper();
        if (!File.Exists(value))
            throw new CliException($"{option} '{value}' is neither a preset ({string.Join(", ", PresetNames)}) nor an existing JSON file.");
        try
        {
            return JsonSerializer.Deserialize<QuickSilverPolicy>(File.ReadAllText(value), Json)
                ?? throw new CliException($"{option} file '{value}' holds no policy.");
        }
        catch (JsonException e)
        {
            throw new CliException($"{option} file '{value}' is not a valid policy JSON: {e.Message}", ExitCodes.UsageError, e);
        }
    }

    public static string ToJson(QuickSilverPolicy policy) => JsonSerializer.Serialize(policy, Json);

    public static QuickSilverPolicy Dense() => new() { Name = "dense" };

    /// <summary>Conservative halting only; halted tokens keep propagating K/V.</summary>
    public static QuickSilverPolicy Safe() => new()
    {
        Name = "safe",
        Halting = new HaltingPolicy { Enabled = true, DriftMode = DriftMode.Relative, DriftThreshold = 0.02f, EntropyThreshold = 0.1f, EntropyMode = EntropySignalMode.DriftGated, MinLayer = 5 },
        KvSkip = new KvSkipPolicy { Enabled = false, Mode = KvSkipMode.Propagate },
    };

    /// <summary>The paper's published settings with all four mechanisms on (see the Policies library for the reading of each number).</summary>
    public static QuickSilverPolicy Paper() => new()
    {
        Name = "paper",
        Halting = new HaltingPolicy { Enabled = true, DriftMode = DriftMode.Absolute, DriftThreshold = 0.045f, EntropyThreshold = 1.15f, EntropyMode = EntropySignalMode.Exact, MinLayer = 5 },
        KvSkip = new KvSkipPolicy { Enabled = true, Mode = KvSkipMode.Skip },
        Fusion = new FusionPolicy { Enabled = true, DistanceThreshold = 0.15f, RelativeDistance = false, Weighting = FusionWeighting.Uniform, StartLayer = 1 },
        Quantization = new QuantizationPolicy
        {
            Enabled = true, Normalization = EntropyNormalization.None, LowThreshold = 1.0f, HighThreshold = 2.3f, ProtectNumbers = false, RareTokenIdFraction = 0.9f,
        },
        Lexicons = new TokenLexicons { ProtectNegations = true, ProtectJsonStructure = false },
    };
}
