using System.Threading.Channels;
using QuickSilver.Engine.Generation;

namespace QuickSilver.Engine.Scheduling;

/// <summary>
/// A job around a generator made by a factory: its tokens go to a channel read through <see cref="ScheduledGeneration"/>,
/// and its result completes <see cref="Completion"/>. The factory runs on the scheduler's thread at admission.
/// </summary>
public sealed class GeneratorJob : GenerationJob
{
    private readonly Func<Generator> _factory;
    private readonly bool _disposeSequence;
    private readonly Channel<GeneratedToken> _tokens = Channel.CreateUnbounded<GeneratedToken>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly TaskCompletionSource<GenerationResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Generator? _generator;

    /// <summary>Creates the job.</summary>
    /// <param name="factory">Makes the generator on the scheduler's thread.</param>
    /// <param name="reservedTokens">Prompt plus maximum new tokens.</param>
    /// <param name="disposeSequence">Whether the generator's sequence is disposed when the job ends (true frees its K/V).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public GeneratorJob(Func<Generator> factory, int reservedTokens, bool disposeSequence = true, CancellationToken cancellationToken = default)
        : base(reservedTokens, cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _factory = factory;
        _disposeSequence = disposeSequence;
    }

    /// <summary>The result once the job ends; faults or is cancelled as the job does.</summary>
    public Task<GenerationResult> Completion => _completion.Task;

    /// <summary>The job's tokens as they are emitted.</summary>
    public ScheduledGeneration Tokens => new(_tokens.Reader, _completion.Task);

    /// <inheritdoc />
    protected internal override Generator Start() => _generator = _factory();

    /// <inheritdoc />
    protected internal override void OnTokens(IReadOnlyList<GeneratedToken> tokens)
    {
        foreach (var token in tokens) _tokens.Writer.TryWrite(token);
    }

    /// <inheritdoc />
    protected internal override void OnFinished(Exception? error)
    {
        var result = error is null ? _generator?.GetResult() : null;
        if (_disposeSequence) _generator?.Sequence.Dispose();
        _tokens.Writer.TryComplete(error);
        if (error is OperationCanceledException cancelled) _completion.TrySetCanceled(cancelled.CancellationToken);
        else if (error is not null) _completion.TrySetException(error);
        else _completion.TrySetResult(result!);
    }
}
