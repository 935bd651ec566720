using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using LLama.Native;

namespace QuickSilver.Testing.LlamaCpp;

/// <summary>
/// Finds and opens the ggml base library that LLamaSharp itself loaded, so the block oracle and the logits oracle are one
/// and the same llama.cpp build.
/// </summary>
/// <remarks>
/// LLamaSharp loads <c>libllama.so</c> from the CPU variant folder it selects under <c>runtimes/linux-x64/native/</c>
/// (avx512, avx2, avx or noavx; on this repository's AVX-512 EPYC machines it picks avx2) and the dynamic linker
/// brings in that folder's <c>libggml-base.so</c>. On Linux the mapped file is read back from <c>/proc/self/maps</c>;
/// elsewhere (or if that fails) the folder is chosen from the CPU's features beside the test binary.
/// </remarks>
internal static class GgmlLibrary
{
    private static readonly Lazy<(IntPtr Handle, string Path)> Loaded = new(Load);

    /// <summary>The native handle.</summary>
    public static IntPtr Handle => Loaded.Value.Handle;

    /// <summary>The file opened.</summary>
    public static string Path => Loaded.Value.Path;

    private static (IntPtr, string) Load()
    {
        LlamaCppRuntime.EnsureLoaded();
        string path = FindMapped() ?? FindBesideBinary()
            ?? throw new DllNotFoundException($"libggml-base not found: neither mapped by LLamaSharp nor under {AppContext.BaseDirectory}runtimes/.");
        return (NativeLibrary.Load(path), path);
    }

    private static string? FindMapped()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            foreach (string line in File.ReadLines("/proc/self/maps"))
            {
                int slash = line.IndexOf('/', StringComparison.Ordinal);
                if (slash < 0) continue;
                string file = line[slash..].Trim();
                if (System.IO.Path.GetFileName(file) == "libggml-base.so") return file;
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    private static string? FindBesideBinary()
    {
        string rid = OperatingSystem.IsWindows() ? "win-x64" : OperatingSystem.IsMacOS() ? (RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "osx-arm64" : "osx-x64") : "linux-x64";
        string name = OperatingSystem.IsWindows() ? "ggml-base.dll" : OperatingSystem.IsMacOS() ? "libggml-base.dylib" : "libggml-base.so";
        string variant = Avx512F.IsSupported ? "avx512" : Avx2.IsSupported ? "avx2" : Avx.IsSupported ? "avx" : "noavx";
        string native = System.IO.Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native");
        foreach (string candidate in new[] { System.IO.Path.Combine(native, variant, name), System.IO.Path.Combine(native, name) })
            if (File.Exists(candidate)) return candidate;
        return null;
    }
}
