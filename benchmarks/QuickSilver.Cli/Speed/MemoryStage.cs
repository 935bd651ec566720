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
        if (TraceEnabled) Trace(stage);
    }

    /// <summary>"after load 0.61 / peak 0.62, after prefill …" in GB, or null when nothing was recorded.</summary>
    public static string? Describe(SpeedSide? side)
    {
        if (side?.RssByStage is not { Count: > 0 } rss) return null;
        static string Gb(long b) => (b / 1e9).ToString("F2", CultureInfo.InvariantCulture);
        return string.Join(", ", Order.Where(rss.ContainsKey).Select(stage =>
            $"{stage} {Gb(rss[stage])}" + (side.PeakRssByStage?.TryGetValue(stage, out long peak) == true ? $" (peak {Gb(peak)})" : "")));
    }

    /// <summary>
    /// Whether <c>QUICKSILVER_MEMORY_TRACE=1</c> is set: each stage then also prints, to standard error, where the resident
    /// memory is (anonymous / file-backed, the .NET heap's committed and live bytes, glibc's arenas and mmapped blocks) and
    /// which managed types were allocated since the last stage. Set it on a <c>speed-worker</c> run (the <c>speed</c>
    /// command strips QUICKSILVER_* variables from its workers, so benchmark runs are unaffected).
    /// </summary>
    public static readonly bool TraceEnabled = Environment.GetEnvironmentVariable("QUICKSILVER_MEMORY_TRACE")?.Trim() == "1";

    /// <summary>Prints the breakdown of <see cref="TraceEnabled"/> for <paramref name="stage"/>.</summary>
    internal static void Trace(string stage)
    {
        AllocationSampler.Dump(stage);
        var gc = GC.GetGCMemoryInfo(GCKind.Any);
        var m = MallInfo2();
        Console.Error.WriteLine(FormattableString.Invariant($"memory {stage}: rss {ReadStatus("VmRSS:") / 1e6:F1} hwm {ReadStatus("VmHWM:") / 1e6:F1} anon {ReadStatus("RssAnon:") / 1e6:F1} file {ReadStatus("RssFile:") / 1e6:F1} | gc committed {gc.TotalCommittedBytes / 1e6:F1} heap {gc.HeapSizeBytes / 1e6:F1} frag {gc.FragmentedBytes / 1e6:F1} totalmem {GC.GetTotalMemory(false) / 1e6:F1} alloc {GC.GetTotalAllocatedBytes(false) / 1e6:F1} gen0 {GC.CollectionCount(0)} gen1 {GC.CollectionCount(1)} gen2 {GC.CollectionCount(2)} | malloc arena {m.arena / 1e6:F1} inuse {m.uordblks / 1e6:F1} free {m.fordblks / 1e6:F1} mmapped {m.hblkhd / 1e6:F1} n {m.hblks}"));
    }

    /// <summary>glibc's <c>struct mallinfo2</c> (all fields size_t).</summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    internal struct MallInfo { public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost; }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallInfo MallInfo2(); // glibc ≥ 2.33; the trace is a diagnostic run on Linux only

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
