namespace QuickSilver.Testing.LlamaCpp;

/// <summary>How <see cref="LlamaCppModel"/> runs llama.cpp.</summary>
internal sealed record LlamaCppOptions
{
    /// <summary>Threads for prompt and generation (the result does not depend on it).</summary>
    public int Threads { get; init; } = 2;

    /// <summary>False (default): float32 KV cache and no flash attention. True: llama.cpp's own defaults (F16 cache).</summary>
    public bool AsUsersRunIt { get; init; }
}
