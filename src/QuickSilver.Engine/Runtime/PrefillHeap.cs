using System.Runtime.InteropServices;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// Opt-in (<c>QUICKSILVER_PREFILL_HEAP_MIB</c>, e.g. 32): keeps a prefill's temporaries in glibc's heap for the length of
/// the pass, then gives the memory back: while a pass of at least <see cref="MinTokens"/> tokens runs, malloc's mmap and trim thresholds are raised to <see cref="ThresholdBytes"/>;
/// when the last such pass ends they return to <see cref="NativeAllocator"/>'s 1 MiB (and glibc's default 128 KiB trim) and
/// <c>malloc_trim(0)</c> releases the free pages.
/// </summary>
/// <remarks>
/// Why: with the 1 MiB mmap threshold every prefill temporary of a few MiB (the GEMM outputs, libtorch's attention and
/// elementwise outputs, a dozen per layer) was its own mmap, so each of its pages was a page fault plus a cleared page
/// and each free an munmap: ~175 000 faults and 12–20% of a 512-token prefill's CPU on the 374M model. Inside the pass the
/// same sizes recur layer after layer, so freed blocks are reused instead; the peak holds what the pass holds live at once
/// (which it held before too) plus the heap's slack, and the trim at the end returns the rest. Measured on the 374M Q4_0
/// model (512 tokens): page faults 180 000 → 18 000, prefill CPU −10..−20%, but peak RSS +50..60 MB at 4–32 MiB (the
/// slack of a heap shared with long-lived blocks such as the K/V cache), hence off by default. Does nothing where
/// <see cref="NativeAllocator"/> leaves malloc alone (not Linux/glibc, a <c>MALLOC_*</c> variable, <c>QUICKSILVER_KEEP_MALLOC=1</c>).
/// </remarks>
internal static class PrefillHeap
{
    /// <summary>Tokens from which a pass raises the thresholds.</summary>
    public const int MinTokens = 16;

    /// <summary>
    /// mmap and trim thresholds during a pass: <c>QUICKSILVER_PREFILL_HEAP_MIB</c> (at most 32, glibc's cap on 64-bit);
    /// 0 or unset leaves them alone (lower peak memory, more page faults).
    /// </summary>
    public static readonly int ThresholdBytes = ThresholdFromEnvironment(Environment.GetEnvironmentVariable("QUICKSILVER_PREFILL_HEAP_MIB"));

    private const int MallocTrimThreshold = -1, MallocMmapThreshold = -3; // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
    private const int DefaultTrimBytes = 128 * 1024;
    private static readonly bool s_enabled = OperatingSystem.IsLinux() && ThresholdBytes > NativeAllocator.MmapThresholdBytes
        && NativeAllocator.ShouldFixThreshold(Environment.GetEnvironmentVariables());
    private static readonly object s_gate = new();
    private static int s_depth;

    /// <summary>Whether passes raise the thresholds (Linux, malloc left to us, a threshold above 1 MiB set).</summary>
    internal static bool Enabled => s_enabled;

    /// <summary>
    /// The threshold for an environment value: unset or empty 0 (off), else the value in MiB, 0 to 32. Anything else is refused
    /// by name rather than read as "off", so a mistyped setting is not silently ignored.
    /// </summary>
    /// <exception cref="InvalidOperationException">The value is not a whole number from 0 to 32.</exception>
    internal static int ThresholdFromEnvironment(string? mebibytes)
    {
        if (string.IsNullOrWhiteSpace(mebibytes)) return 0;
        if (!int.TryParse(mebibytes, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int value)
            || value is < 0 or > 32)
        {
            throw new InvalidOperationException(
                $"QUICKSILVER_PREFILL_HEAP_MIB='{mebibytes}': expected a whole number of MiB from 0 to 32 (glibc's cap on 64-bit); 0 or unset leaves malloc alone.");
        }
        return value << 20;
    }

    /// <summary>Passes in flight that raised the thresholds.</summary>
    internal static int Depth
    {
        get
        {
            lock (s_gate) return s_depth;
        }
    }

    /// <summary>Raises the thresholds for a pass of <paramref name="tokens"/> tokens until the returned scope is disposed.</summary>
    public static Scope Enter(int tokens)
    {
        if (!s_enabled || tokens < MinTokens) return default;
        lock (s_gate)
        {
            if (s_depth++ == 0) Apply(ThresholdBytes, ThresholdBytes, trim: false);
        }
        return new Scope(true);
    }

    private static void Exit()
    {
        lock (s_gate)
        {
            if (--s_depth == 0) Apply(NativeAllocator.MmapThresholdBytes, DefaultTrimBytes, trim: true);
        }
    }

    private static void Apply(int mmapThreshold, int trimThreshold, bool trim)
    {
        try
        {
            MallOpt(MallocMmapThreshold, mmapThreshold);
            MallOpt(MallocTrimThreshold, trimThreshold);
            if (trim) MallocTrim(0);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // not glibc: nothing to tune
        }
    }

    /// <summary>Ends the raised thresholds of one pass (the last pass out restores them and trims).</summary>
    public readonly struct Scope(bool entered) : IDisposable
    {
        /// <inheritdoc />
        public void Dispose()
        {
            if (entered) Exit();
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int MallOpt(int parameter, int value);

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
