using System.Diagnostics;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// A process-wide per-operation time profile for benchmarks: the weight products record their time by kind, so a
/// decode step splits into matrix products and everything else (norms, rotary, attention, libtorch dispatch). Off by
/// default; when off, recording costs one branch.
/// </summary>
public static class OpProfile
{
    private static readonly Dictionary<string, (long Ticks, long Calls)> Totals = new(StringComparer.Ordinal);
    private static readonly object Gate = new();

    /// <summary>Whether operations are timed.</summary>
    public static bool Enabled { get; set; }

    /// <summary>
    /// Whether operations are timed in the calling thread's CPU time instead of wall time: on a loaded machine wall time
    /// counts the time the thread waited for a core. Only meaningful when the operations run on the calling thread (1 thread).
    /// </summary>
    public static bool ThreadCpuTime { get; set; }

    /// <summary>Starts timing one operation (0 when disabled).</summary>
    public static long Start() => Enabled ? Now() : 0;

    private static long Now()
    {
        if (!ThreadCpuTime) return Stopwatch.GetTimestamp();
        ClockGetTime(ThreadCpuClock, out var time);
        // In Stopwatch ticks, so Snapshot converts both clocks alike.
        return (long)(((time.Seconds * 1_000_000_000.0) + time.Nanoseconds) * Stopwatch.Frequency / 1e9) + 1;
    }

    private const int ThreadCpuClock = 3; // CLOCK_THREAD_CPUTIME_ID (Linux)

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds, Nanoseconds;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    /// <summary>Adds the time since <paramref name="start"/> to <paramref name="operation"/>.</summary>
    public static void Stop(string operation, long start)
    {
        if (!Enabled || start == 0) return;
        long elapsed = Now() - start;
        lock (Gate)
        {
            Totals.TryGetValue(operation, out var total);
            Totals[operation] = (total.Ticks + elapsed, total.Calls + 1);
        }
    }

    /// <summary>Seconds and calls per operation since the last <see cref="Reset"/>.</summary>
    public static IReadOnlyDictionary<string, (double Seconds, long Calls)> Snapshot()
    {
        lock (Gate) return Totals.ToDictionary(p => p.Key, p => ((double)p.Value.Ticks / Stopwatch.Frequency, p.Value.Calls));
    }

    /// <summary>Clears the totals.</summary>
    public static void Reset()
    {
        lock (Gate) Totals.Clear();
    }
}
