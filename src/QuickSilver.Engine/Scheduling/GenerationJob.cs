using QuickSilver.Engine.Generation;

namespace QuickSilver.Engine.Scheduling;

/// <summary>
/// One request a <see cref="BatchScheduler"/> runs: it makes its <see cref="Generator"/> when admitted and receives its
/// tokens and its end. Every callback runs on the scheduler's thread (the thread that owns the model), one at a time; an
/// exception thrown by one fails this request alone.
/// </summary>
public abstract class GenerationJob
{
    /// <summary>Creates a job reserving <paramref name="reservedTokens"/> K/V positions while it runs.</summary>
    /// <param name="reservedTokens">Prompt plus maximum new tokens (what its sequence may hold at most).</param>
    /// <param name="cancellationToken">Cancels the request: it leaves the batch at the next step boundary and frees its K/V.</param>
    protected GenerationJob(int reservedTokens, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(reservedTokens, 1);
        ReservedTokens = reservedTokens;
        CancellationToken = cancellationToken;
    }

    /// <summary>K/V positions reserved while the job runs.</summary>
    public int ReservedTokens { get; }

    /// <summary>Cancels the job.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>
    /// True once the job needs no more tokens although its generator would go on (e.g. a reply ended by a stop text the
    /// generator does not see); the scheduler then finishes it normally after the current step.
    /// </summary>
    protected internal virtual bool IsComplete => false;

    /// <summary>Called once on admission: makes the generator (and takes its sequence) on the scheduler's thread.</summary>
    protected internal abstract Generator Start();

    /// <summary>Called with the tokens each step emitted (not called for steps that emit none).</summary>
    protected internal abstract void OnTokens(IReadOnlyList<GeneratedToken> tokens);

    /// <summary>
    /// Called once at the end: <paramref name="error"/> is null when generation finished, an
    /// <see cref="OperationCanceledException"/> when cancelled, or what failed. The job releases its sequence here.
    /// </summary>
    protected internal abstract void OnFinished(Exception? error);
}
