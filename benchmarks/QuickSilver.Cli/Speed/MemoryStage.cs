using System.Globalization;

namespace QuickSilver.Cli.Speed;

/// <summary>
/// Resident memory at the stages of a speed run (after load, after prefill, after decode), beside the peak: the peak
/// alone cannot say whether the weights, a prefill's activations or the K/V cache make the difference to llama.cpp.
/// </summary>
internal static class MemoryStage
{
    public const string AfterLoad = "after load", AfterPrefill = "after prefill", AfterDecode = "after decode";

    /// <summary>Stages in run order.</summary>
    public static readonly string[] Order = [AfterLoad, AfterPrefill, AfterDecode];

    /// <summary>Records the current resident set (VmRSS) and the peak so far (VmHWM) under <paramref name="stage"/>.</summary>
    public static void Record(SpeedSide side, string stage)
    {
        ArgumentNullException.ThrowIfNull(side);
        if (ReadStatus("VmRSS:") is long rss) (side.RssByStage ??= [])[stage] = rss;
        if (ReadStatus("VmHWM:") is long peak) (side.PeakRssByStage ??= [])[stage] = peak;
    }

    /// <summary>"after load 0.61 / peak 0.62, after prefill …" in GB, or null when nothing was recorded.</summary>
    public static string? Describe(SpeedSide? side)
    {
        if (side?.RssByStage is not { Count: > 0 } rss) return null;
        static string Gb(long b) => (b / 1e9).ToString("F2", CultureInfo.InvariantCulture);
        return string.Join(", ", Order.Where(rss.ContainsKey).Select(stage =>
            $"{stage} {Gb(rss[stage])}" + (side.PeakRssByStage?.TryGetValue(stage, out long peak) == true ? $" (peak {Gb(peak)})" : "")));
    }

    /// <summary>A "Vm…:  123 kB" line of /proc/self/status in bytes; null off Linux or when unreadable.</summary>
    internal static long? ReadStatus(string key)
    {
        try
        {
            if (!File.Exists("/proc/self/status")) return null;
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
            var parts = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return parts is { Length: >= 2 } && long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long kb) ? kb * 1024 : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
