using System.Collections.Concurrent;
using LLama.Native;

namespace QuickSilver.Testing.LlamaCpp;

/// <summary>
/// Process-wide setup of llama.cpp through LLamaSharp for the oracle: loads the native library once, keeps llama.cpp's
/// log quiet but remembers its recent warnings and errors (they go into exception messages), and serialises calls so
/// parallel test classes do not share a context.
/// </summary>
/// <remarks>
/// Running llama.cpp in the same process as TorchSharp works (the CLI's in-process compare does it too): libtorch
/// brings its own OpenMP runtime and ggml-cpu links the system <c>libgomp.so.1</c>. The engine's module initializer
/// sets <c>OMP_WAIT_POLICY=PASSIVE</c> in this process, which ggml's OpenMP threads then also see: harmless for
/// correctness, slower for llama.cpp. Never time llama.cpp in this process, and never hand that variable to a child
/// process that runs llama.cpp (see <see cref="ChildEnvironment"/>).
/// </remarks>
internal static class LlamaCppRuntime
{
    private static readonly Lazy<bool> Initialized = new(Initialize);
    private static readonly ConcurrentQueue<string> RecentMessages = new();

    /// <summary>Held while llama.cpp runs; take it for any direct LLamaSharp use in tests.</summary>
    public static readonly Lock Gate = new();

    /// <summary>Loads LLamaSharp's native llama.cpp (idempotent).</summary>
    public static void EnsureLoaded() => _ = Initialized.Value;

    /// <summary>llama.cpp's last warnings and errors, oldest first (at most 20).</summary>
    public static string RecentLog => string.Join(Environment.NewLine, RecentMessages);

    /// <summary>Clears <see cref="RecentLog"/>.</summary>
    public static void ClearLog() => RecentMessages.Clear();

    /// <summary>
    /// Environment for a child process that runs llama.cpp: this process's environment without the OpenMP settings the
    /// engine imposes on libtorch, so llama.cpp runs with its own defaults.
    /// </summary>
    public static IDictionary<string, string?> ChildEnvironment(IDictionary<string, string?> environment)
    {
        environment.Remove("OMP_WAIT_POLICY");
        return environment;
    }

    private static bool Initialize()
    {
        NativeLogConfig.llama_log_set((level, message) =>
        {
            if (level is not (LLamaLogLevel.Warning or LLamaLogLevel.Error)) return;
            RecentMessages.Enqueue(message.TrimEnd());
            while (RecentMessages.Count > 20) RecentMessages.TryDequeue(out _);
        });
        _ = NativeApi.llama_max_devices();
        return true;
    }
}
