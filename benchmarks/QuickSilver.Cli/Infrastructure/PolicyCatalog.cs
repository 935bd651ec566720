using QuickSilver.Policies;

namespace QuickSilver.Cli.Infrastructure;

/// <summary>Resolves --policy (a preset name or a policy JSON file) through the Policies library, with CLI-style messages.</summary>
internal static class PolicyCatalog
{
    public static IReadOnlyList<string> PresetNames => QuickSilverPolicy.PresetNames;

    public static QuickSilverPolicy Resolve(string? value, string option = "--policy")
    {
        if (string.IsNullOrWhiteSpace(value)) return QuickSilverPolicy.Dense();
        if (PresetNames.Contains(value.Trim(), StringComparer.OrdinalIgnoreCase)) return QuickSilverPolicy.FromPreset(value);
        if (Directory.Exists(value) || !File.Exists(value))
            throw new CliException($"{option} '{value}' is neither a preset ({string.Join(", ", PresetNames)}) nor an existing policy JSON file.");
        try
        {
            return PolicySerializer.Load(value);
        }
        catch (QuickSilverException e)
        {
            throw new CliException($"{option} file '{value}' is not a valid policy: {e.Message}", ExitCodes.UsageError, e);
        }
    }

    public static string ToJson(QuickSilverPolicy policy) => PolicySerializer.ToJson(policy);

    public static QuickSilverPolicy Dense() => QuickSilverPolicy.Dense();
}
