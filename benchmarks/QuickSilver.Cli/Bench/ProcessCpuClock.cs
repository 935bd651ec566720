using System.Runtime.InteropServices;

namespace QuickSilver.Cli.Bench;

/// <summary>
/// The process's CPU time (all its threads): on a machine shared with other work, wall-clock ratios move with the load
/// (0.65 to 3.56 for the same speculative bench within minutes), CPU time far less, so the acceleration benches report both.
/// </summary>
internal static partial class ProcessCpuClock
{
    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds, Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    /// <summary>CPU seconds the process has used (CLOCK_PROCESS_CPUTIME_ID); NaN where the clock is missing.</summary>
    public static double Seconds() => Read(2); // CLOCK_PROCESS_CPUTIME_ID

    /// <summary>CPU seconds the calling thread has used (CLOCK_THREAD_CPUTIME_ID); NaN where the clock is missing.</summary>
    public static double ThreadSeconds() => Read(3); // CLOCK_THREAD_CPUTIME_ID

    private static double Read(int clock)
    {
        try
        {
            return ClockGetTime(clock, out var t) == 0 ? t.Seconds + (t.Nanoseconds * 1e-9) : double.NaN;
        }
        catch (DllNotFoundException)
        {
            return double.NaN;
        }
        catch (EntryPointNotFoundException)
        {
            return double.NaN;
        }
    }
}
