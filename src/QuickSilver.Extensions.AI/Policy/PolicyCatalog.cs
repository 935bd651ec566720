using QuickSilver.Policies;

namespace QuickSilver.Extensions.AI.Policy;

/// <summary>Named presets and policy files, resolved through QuickSilver.Policies with errors that name the setting at fault.</summary>
internal static class PolicyCatalog
{
    public static IReadOnlyList<string> PresetNames => QuickSilverPolicy.PresetNames;

    public static bool IsPreset(string? name) => name is not null && PresetNames.Contains(name.Trim().ToLowerInvariant());

    /// <exception cref="ArgumentException">Unknown preset; the message and ParamName name <paramref name="settingName"/>.</exception>
    public static QuickSilverPolicy FromPreset(string name, string settingName)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!IsPreset(name))
        {
            throw new ArgumentException($"{settingName}: unknown policy preset '{name}'; expected one of {string.Join(", ", PresetNames)}.", settingName);
        }
        return QuickSilverPolicy.FromPreset(name);
    }

    /// <exception cref="QuickSilverException">The file is missing or not a valid policy; the message names PolicyPath.</exception>
    public static QuickSilverPolicy Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new QuickSilverException($"PolicyPath: the policy file '{path}' does not exist.");
        }
        try
        {
            return PolicySerializer.Load(path);
        }
        catch (QuickSilverException ex)
        {
            throw new QuickSilverException($"PolicyPath: '{path}' is not a valid policy: {ex.Message}", ex);
        }
    }
}
