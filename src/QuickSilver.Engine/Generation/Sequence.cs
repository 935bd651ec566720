using QuickSilver.Engine.Runtime;

namespace QuickSilver.Engine.Generation;

/// <summary>
/// One sequence's state: the tokens it holds and, in the engine's implementation, their K/V and QuickSilver routing state.
/// Steps append to it (<see cref="LanguageModel.Prefill"/>, <see cref="LanguageModel.Decode"/>); <see cref="TruncateTo"/> cuts it
/// back. Used by one thread at a time.
/// </summary>
public abstract class Sequence : IDisposable
{
    private readonly List<int> _tokens = [];
    private bool _disposed;

    /// <summary>Creates an empty sequence of at most <paramref name="contextLength"/> positions.</summary>
    protected Sequence(int contextLength, SequenceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 2);
        ContextLength = contextLength;
        Options = options.Clone();
        CacheKey = Options.CacheKey();
    }

    /// <summary>The options it was created with (a copy; changing it changes nothing).</summary>
    public SequenceOptions Options { get; }

    /// <summary>Equal for two sequences whose cached state is interchangeable (see <see cref="SequenceOptions.CacheKey"/>).</summary>
    public string CacheKey { get; }

    /// <summary>The tokens whose state the sequence holds, in position order.</summary>
    public IReadOnlyList<int> Tokens => _tokens;

    /// <summary>Number of tokens held.</summary>
    public int Length => _tokens.Count;

    /// <summary>Maximum positions.</summary>
    public int ContextLength { get; }

    /// <summary>Counts of the forward passes run on this sequence are added here; assign a new one to count a span of work alone.</summary>
    public RuntimeStats Stats { get; set; } = new();

    /// <summary>When not null, each forward pass appends its per-token trace here (costs host syncs).</summary>
    public IList<TokenTrace>? Traces { get; set; }

    /// <summary>Whether <see cref="Dispose()"/> was called.</summary>
    public bool IsDisposed => _disposed;

    /// <summary>
    /// Whether <see cref="TruncateTo"/> can go back to <paramref name="length"/>: always to 0, to any held length unless a
    /// sliding-window cache has evicted keys that length needs (undoing the latest step is always possible).
    /// </summary>
    public virtual bool CanTruncateTo(int length) => length >= 0 && length <= Length;

    /// <summary>
    /// Drops every token at or beyond <paramref name="length"/> together with its K/V and routing state, so that decoding
    /// from here equals never having gone further.
    /// </summary>
    /// <exception cref="QuickSilver.Engine.Runtime.KvCacheEvictedException">A sliding-window cache evicted keys
    /// <paramref name="length"/> needs (<see cref="CanTruncateTo"/> is false); nothing is dropped.</exception>
    public void TruncateTo(int length)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Length);
        if (length == Length) return;
        OnTruncate(length);
        _tokens.RemoveRange(length, _tokens.Count - length);
    }

    /// <summary>Drops the implementation's state at or beyond <paramref name="length"/>.</summary>
    protected abstract void OnTruncate(int length);

    /// <summary>Records <paramref name="tokens"/> as appended after a step computed them.</summary>
    protected void Append(IReadOnlyList<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        _tokens.AddRange(tokens);
    }

    /// <summary>Throws when the sequence was disposed.</summary>
    protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>Releases the implementation's state.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }
}
