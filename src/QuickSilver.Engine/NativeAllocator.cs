using System.Collections;
using System.Runtime.InteropServices;

namespace QuickSilver.Engine;

/// <summary>
/// Fixes glibc malloc's mmap threshold at 256 KiB once, when a model is first loaded, so freed large buffers go back to
/// the operating system.
/// </summary>
/// <remarks>
/// glibc serves a request of at least <c>M_MMAP_THRESHOLD</c> bytes (128 KiB at start) with its own mmap, which free
/// unmaps at once. But by default the threshold is dynamic: each time such a block is freed, the threshold rises to its
/// size (up to 32 MiB). Loading frees many weight-sized buffers, so after load every later activation, logits or
/// scratch buffer of a few MiB comes from the heap arenas instead, and the arenas keep freed memory: measured on the
/// 374M speed model, peak RSS sat hundreds of MB above the live data. Setting the threshold explicitly disables the
/// dynamic adjustment. 256 KiB rather than 1 MiB: a prefill's per-head and per-chunk temporaries of 256 KiB–1 MiB,
/// freed between longer-lived blocks, left the main arena with 9–14 MB of free but resident holes after a 512-token
/// prefill (374M Q4_0, <c>mallinfo2</c>); at 256 KiB they are unmapped on free (5 MB of holes). Decode steps'
/// buffers (a 4 KB row, a 128 KB logits row) stay in the arenas, so a decode step makes no extra system call.
/// Skipped when the user tunes malloc through any <c>MALLOC_*</c> variable, or sets <c>QUICKSILVER_KEEP_MALLOC=1</c>.
/// </remarks>
internal static class NativeAllocator
{
    /// <summary>The threshold set, in bytes.</summary>
    public const int MmapThresholdBytes = 256 << 10;

    private const int MallocMmapThreshold = -3; // M_MMAP_THRESHOLD in glibc's malloc.h
    private static int _applied;

    /// <summary>Applies the threshold once per process (later calls do nothing); false when skipped or unavailable.</summary>
    public static bool FixMmapThreshold()
    {
        if (Interlocked.Exchange(ref _applied, 1) != 0) return false;
        if (!OperatingSystem.IsLinux() || !ShouldFixThreshold(Environment.GetEnvironmentVariables())) return false;
        try
        {
            return MallOpt(MallocMmapThreshold, MmapThresholdBytes) == 1;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // not glibc (e.g. musl without mallopt): leave the allocator alone
        }
    }

    /// <summary>Whether the environment leaves malloc to us: no <c>MALLOC_*</c> variable and no <c>QUICKSILVER_KEEP_MALLOC=1</c>.</summary>
    internal static bool ShouldFixThreshold(IDictionary environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        foreach (DictionaryEntry entry in environment)
        {
            string name = entry.Key as string ?? string.Empty;
            if (name.StartsWith("MALLOC_", StringComparison.Ordinal)) return false;
        }
        return !EnvironmentSwitch.Read(environment, "QUICKSILVER_KEEP_MALLOC", defaultValue: false);
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int MallOpt(int parameter, int value);
}
