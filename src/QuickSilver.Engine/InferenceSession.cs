using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Runtime;

namespace QuickSilver.Engine;

/// <summary>
/// A conversation's cached state for simple callers: one <see cref="Sequence"/> reused across calls, so <see cref="Generate"/>
/// runs prefill only for the part of the prompt it does not hold yet. Use from one thread at a time (TorchSharp's dispose scopes
/// are thread-static). The loop itself is the <see cref="Generator"/>'s.
/// </summary>
public sealed class InferenceSession : IDisposable
{
    private readonly LanguageModel _model;
    private readonly int _contextLength;
    private Sequence _sequence;
    private bool _disposed;

    internal InferenceSession(LanguageModel model, int contextLength)
    {
        _model = model;
        _contextLength = contextLength;
        _sequence = model.CreateSequence(new SequenceOptions { ContextLength = contextLength });
    }

    /// <summary>Token ids whose K/V the cache holds.</summary>
    public IReadOnlyList<int> CachedTokens => _sequence.Tokens;

    /// <summary>Maximum positions.</summary>
    public int ContextLength => _contextLength;

    /// <summary>The cache (for inspection: bytes, written positions).</summary>
    public KvCache Cache => ((ModelSequence)_sequence).Cache;

    /// <summary>The sequence the next call continues (replaced when a call asks for another policy).</summary>
    public Sequence Sequence => _sequence;

    /// <summary>
    /// Runs prefill over the uncached part of <paramref name="promptIds"/>, then decodes.
    /// <paramref name="onToken"/> is called on the calling thread for each generated token.
    /// </summary>
    /// <exception cref="ContextLengthExceededException">The prompt leaves no room for a generated token.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the session stays usable.</exception>
    public GenerationResult Generate(IReadOnlyList<int> promptIds, GenerationRequest request, Action<int>? onToken = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(promptIds);
        ArgumentNullException.ThrowIfNull(request);
        var options = new SequenceOptions { Policy = request.Policy, ProtectedTokenIds = request.ProtectedTokenIds, ContextLength = _contextLength };
        // A cache computed under another policy is not valid under this one.
        if (options.CacheKey() != _sequence.CacheKey)
        {
            var next = _model.CreateSequence(options);
            _sequence.Dispose();
            _sequence = next;
        }
        var generator = new Generator(_model, _sequence, promptIds, request);
        return generator.Run(onToken, cancellationToken);
    }

    /// <summary>Forgets the cached tokens.</summary>
    public void Reset()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _sequence.TruncateTo(0);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _sequence.Dispose();
    }
}
