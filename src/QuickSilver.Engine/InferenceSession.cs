using QuickSilver.Engine.Generation;

namespace QuickSilver.Engine;

/// <summary>
/// Per-sequence state: the KV cache and the token history it holds. Use from one thread at a time
/// (TorchSharp's dispose scopes are thread-static). <see cref="Generate"/> reuses the longest cached prefix.
/// </summary>
public sealed partial class InferenceSession : IDisposable
{
    /// <summary>Token ids whose K/V the cache holds.</summary>
    public IReadOnlyList<int> CachedTokens => throw new NotImplementedException();

    /// <summary>Maximum positions.</summary>
    public int ContextLength => throw new NotImplementedException();

    /// <summary>
    /// Runs prefill over the uncached part of <paramref name="promptIds"/>, then decodes.
    /// <paramref name="onToken"/> is called on the calling thread for each generated token.
    /// </summary>
    /// <exception cref="ContextLengthExceededException">The prompt does not fit the context.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the session stays usable.</exception>
    public GenerationResult Generate(IReadOnlyList<int> promptIds, GenerationRequest request, Action<int>? onToken = null, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>Forgets the cached tokens.</summary>
    public void Reset() => throw new NotImplementedException();

    /// <inheritdoc />
    public void Dispose() { }
}
