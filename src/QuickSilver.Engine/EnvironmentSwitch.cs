using System.Collections;

namespace QuickSilver.Engine;

/// <summary>
/// A <c>QUICKSILVER_*</c> on/off environment switch: unset or empty takes the default, <c>1</c> is on, <c>0</c> is off. Any
/// other value is refused with the variable's name, so a mistyped switch ("true", "yes", "O") is never silently read as its
/// default.
/// </summary>
internal static class EnvironmentSwitch
{
    /// <summary>The switch <paramref name="name"/> in <paramref name="environment"/> (names to values, as <see cref="Environment.GetEnvironmentVariables()"/>).</summary>
    /// <exception cref="InvalidOperationException">The value is set and is neither 1 nor 0.</exception>
    public static bool Read(IDictionary environment, string name, bool defaultValue)
    {
        ArgumentNullException.ThrowIfNull(environment);
        string? value = (environment[name] as string)?.Trim();
        return value switch
        {
            null or "" => defaultValue,
            "1" => true,
            "0" => false,
            _ => throw new InvalidOperationException($"{name}='{value}': expected 1 (on) or 0 (off), or leave it unset (default: {(defaultValue ? 1 : 0)})."),
        };
    }

    /// <summary>The switch <paramref name="name"/> in this process's environment.</summary>
    /// <exception cref="InvalidOperationException">The value is set and is neither 1 nor 0.</exception>
    public static bool Read(string name, bool defaultValue) => Read(Environment.GetEnvironmentVariables(), name, defaultValue);
}
