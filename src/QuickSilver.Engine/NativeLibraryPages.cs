using System.Collections;
using System.Globalization;
using System.Runtime.InteropServices;

namespace QuickSilver.Engine;

/// <summary>
/// Loads libtorch and drops from this process's resident set the machine-code pages that only its start-up touched,
/// once, when a model is first loaded, so they do not count on top of the weights.
/// </summary>
/// <remarks>
/// Loading libtorch_cpu runs its static initializers (the registration of every operator for every dispatch key),
/// which touch code spread over its 340 MB of text: measured on the 374M speed model, 42 MB resident with 4 KB
/// page-cache pages, and 100–113 MB when the kernel holds the file in 2 MB page-cache folios (then each touched page
/// maps its whole 2 MB folio). Inference afterwards runs a few dozen operators: a prefill and decode map back about
/// 18 MB. <c>madvise(MADV_DONTNEED)</c> on the library's executable mappings unmaps their pages from the process:
/// they stay in the page cache, and a page that runs again is mapped back on its next use (a minor fault, no disk
/// read while the file is cached). <c>MADV_NOHUGEPAGE</c> first, so a page comes back alone rather than with its
/// 2 MB folio. Only read-only, executable, file-backed mappings are touched: their pages are never written, so
/// re-reading them from the file gives the same bytes; writable and anonymous mappings are left alone. Skipped when
/// <c>QUICKSILVER_KEEP_LIBRARY_PAGES=1</c> is set.
/// </remarks>
internal static class NativeLibraryPages
{
    private const int MadvDontNeed = 4, MadvNoHugePage = 15; // MADV_DONTNEED, MADV_NOHUGEPAGE in Linux's mman-common.h
    private static int _applied;

    /// <summary>File names (prefixes) whose executable mappings are released.</summary>
    internal static readonly string[] Libraries = ["libtorch_cpu", "libtorch.so", "libc10.so"];

    /// <summary>Loads libtorch, then releases the pages once per process (later calls do nothing); the bytes of the mappings released, or 0 when skipped.</summary>
    public static long ReleaseStartupCode()
    {
        if (Interlocked.Exchange(ref _applied, 1) != 0) return 0;
        if (!OperatingSystem.IsLinux() || !ShouldRelease(Environment.GetEnvironmentVariables())) return 0;
        try
        {
            TorchSharp.torch.InitializeDeviceType(TorchSharp.DeviceType.CPU); // loads libtorch: its start-up runs now, not during the weights' load
        }
        catch (DllNotFoundException)
        {
            return 0;
        }
        return ReleaseCode();
    }

    /// <summary>
    /// Releases the pages again once a model is loaded: building it (reading and converting tensors, the rotary tables,
    /// stacking q|k|v) runs operators that inference never runs again; measured on the 374M Q4_0 speed model, 13 MB of
    /// libtorch's code was resident after the load, of which a prefill and decode use a part. The bytes of the mappings
    /// released, or 0 when skipped or libtorch is not loaded.
    /// </summary>
    public static long ReleaseLoadCode()
    {
        if (Volatile.Read(ref _applied) == 0 || !OperatingSystem.IsLinux() || !ShouldRelease(Environment.GetEnvironmentVariables())) return 0;
        return ReleaseCode();
    }

    private static long ReleaseCode()
    {
        try
        {
            long released = 0;
            foreach (var (start, length) in ExecutableMappings(File.ReadLines("/proc/self/maps")))
            {
                // Large page-cache folios would otherwise be mapped back 2 MB at a time (see the remarks).
                _ = MAdvise((nint)start, (nuint)length, MadvNoHugePage);
                if (MAdvise((nint)start, (nuint)length, MadvDontNeed) == 0) released += (long)length;
            }
            return released;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DllNotFoundException or EntryPointNotFoundException)
        {
            return 0; // no /proc or no madvise: leave the pages where they are
        }
    }

    /// <summary>Whether the environment allows it: no <c>QUICKSILVER_KEEP_LIBRARY_PAGES=1</c>.</summary>
    internal static bool ShouldRelease(IDictionary environment)
    {
        return !EnvironmentSwitch.Read(environment, "QUICKSILVER_KEEP_LIBRARY_PAGES", defaultValue: false);
    }

    /// <summary>
    /// The read-only executable, file-backed mappings of <see cref="Libraries"/> in /proc/self/maps lines
    /// ("start-end perms offset dev inode path"): only <c>r-xp</c>, never a writable or anonymous mapping.
    /// </summary>
    internal static IEnumerable<(ulong Start, ulong Length)> ExecutableMappings(IEnumerable<string> mapsLines)
    {
        ArgumentNullException.ThrowIfNull(mapsLines);
        foreach (string line in mapsLines)
        {
            var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 6 || parts[1] != "r-xp") continue;
            string file = Path.GetFileName(parts[5].Trim());
            if (!Libraries.Any(l => file.StartsWith(l, StringComparison.Ordinal))) continue;
            var range = parts[0].Split('-');
            if (range.Length != 2
                || !ulong.TryParse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong start)
                || !ulong.TryParse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong end)
                || end <= start) continue;
            yield return (start, end - start);
        }
    }

    [DllImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static extern int MAdvise(nint address, nuint length, int advice);
}
