using System.Diagnostics;

namespace QuickSilver.Cli.Compare;

/// <summary>
/// The environment a peer's worker process gets: ours minus every setting QuickSilver imposes for libtorch, so the peer
/// runs with its own defaults. <c>OMP_WAIT_POLICY=PASSIVE</c> (set by the engine's module initializer) made llama.cpp's
/// OpenMP threads sleep between ops: LLamaSharp decode on stories260K fell from ~3,900 to ~285 tokens/s (issue 13).
/// </summary>
internal static class PeerEnvironment
{
    /// <summary>Variables QuickSilver sets or reads to tune its own runtime; none of them may reach a peer.</summary>
    public static IReadOnlyList<string> OurSettings { get; } =
    [
        "OMP_WAIT_POLICY",      // set by QuickSilver.Engine's NativeThreading for libtorch's OpenMP
        "OMP_NUM_THREADS",      // a thread count meant for libtorch; the peer gets --threads explicitly
        "MKL_NUM_THREADS",
        "KMP_BLOCKTIME",
        "GOMP_SPINCOUNT",
    ];

    /// <summary>Removes <see cref="OurSettings"/> and every QUICKSILVER_* variable from <paramref name="environment"/>.</summary>
    public static void StripOurSettings(IDictionary<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        foreach (var name in environment.Keys.ToList())
            if (OurSettings.Contains(name, StringComparer.Ordinal) || name.StartsWith("QUICKSILVER_", StringComparison.Ordinal))
                environment.Remove(name);
    }

    /// <summary>Prepares <paramref name="start"/> for <paramref name="side"/>: a peer (anything but "quicksilver") gets a clean environment.</summary>
    public static void Apply(ProcessStartInfo start, string side)
    {
        ArgumentNullException.ThrowIfNull(start);
        if (side != "quicksilver") StripOurSettings(start.Environment);
    }
}
