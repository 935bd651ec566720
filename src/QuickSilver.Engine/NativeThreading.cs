using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace QuickSilver.Engine;

/// <summary>
/// Sets <c>OMP_WAIT_POLICY=PASSIVE</c> for libtorch's OpenMP runtime before it loads, unless the user set it.
/// </summary>
/// <remarks>
/// With the default (active) policy, OpenMP worker threads spin between parallel regions. A decode step is hundreds
/// of tiny ops, so on a busy machine (a server, CI, other processes) every op waits for spinning threads that are
/// not scheduled: measured here on stories260K with 2 threads and a loaded machine, decode fell from ~1,700 to ~25
/// tokens/s. Passive waiting costs nothing measurable on large matmuls. The variable must be in the native
/// environment before libgomp initializes, so it is set through libc's setenv from a module initializer (.NET's
/// Environment.SetEnvironmentVariable does not reach the native environment on Unix). Set OMP_WAIT_POLICY yourself
/// to override.
/// </remarks>
internal static class NativeThreading
{
#pragma warning disable CA2255 // A library module initializer is exactly what is needed: it must run before libtorch loads.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void PreferPassiveWaiting()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null) return;
        try
        {
            _ = SetEnvironment("OMP_WAIT_POLICY", "PASSIVE", 0);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // No libc to call: keep the runtime's default.
        }
    }

    [DllImport("libc", EntryPoint = "setenv", CharSet = CharSet.Ansi)]
    private static extern int SetEnvironment(string name, string value, int overwrite);
}
