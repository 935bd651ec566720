using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Runtime;

namespace QuickSilver.Engine.Scheduling;

/// <summary>
/// Continuous batching: concurrent requests decode together, one step for all of them, on one thread that owns the model.
/// Requests are admitted at step boundaries and retired as they finish, so a new request never waits for a long one
/// (no head-of-line blocking). A prompt runs in chunks of at most <see cref="BatchSchedulerOptions.PrefillChunkTokens"/>,
/// cut at positions that are multiples of the chunk size so its results do not depend on what else runs; a step carries
/// the decode rows of every running request plus the chunks of several prompts, up to
/// <see cref="BatchSchedulerOptions.PrefillTokensPerStep"/> prompt tokens, so concurrent prompts prefill in few steps
/// while the running requests keep decoding. K/V memory is bounded by reservations (prompt plus maximum new tokens); a request that does
/// not fit queues or is rejected (<see cref="BatchSchedulerOptions.WhenKvCacheFull"/>). A cancelled request leaves at the
/// next step boundary and frees its K/V; a request whose processing throws fails alone.
/// </summary>
/// <remarks>
/// Each sequence's tokens equal running it alone: the batched step gives each sequence the logits of its step alone
/// (<see cref="IStepModel.Decode"/>), and sampling state is per request.
/// </remarks>
public sealed class BatchScheduler : IDisposable
{
    private readonly IStepModel _model;
    private readonly BatchSchedulerOptions _options;
    private readonly object _gate = new();
    private readonly LinkedList<GenerationJob> _queue = new();
    private readonly List<Slot> _active = [];
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Thread _thread;
    private int _queuedTokens, _activeTokens, _activeCount;
    private int _prefillTurn;
    private volatile bool _stopping;

    /// <summary>Starts a scheduler over <paramref name="model"/>; from now on only the scheduler's thread should run it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (named).</exception>
    public BatchScheduler(IStepModel model, BatchSchedulerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _options = (options ?? new BatchSchedulerOptions()).Clone();
        _options.Validate();
        _model = model;
        _thread = new Thread(Loop) { IsBackground = true, Name = "QuickSilver batch scheduler" };
        _thread.Start();
    }

    /// <summary>The settings (a copy).</summary>
    public BatchSchedulerOptions Options => _options.Clone();

    /// <summary>Requests running now.</summary>
    public int ActiveCount => Volatile.Read(ref _activeCount);

    /// <summary>Requests waiting for admission.</summary>
    public int QueuedCount
    {
        get { lock (_gate) return _queue.Count; }
    }

    /// <summary>K/V positions reserved by running requests.</summary>
    public int ReservedTokens => Volatile.Read(ref _activeTokens);

    /// <summary>Steps run so far (each a batch of decode rows and prefill chunks).</summary>
    public long StepCount { get; private set; }

    /// <summary>Queues <paramref name="job"/>; it is admitted at a step boundary.</summary>
    /// <exception cref="KvCacheFullException">
    /// The reservation exceeds <see cref="BatchSchedulerOptions.MaxKvCacheTokens"/>, or does not fit now under
    /// <see cref="KvCacheFullBehavior.Reject"/>.
    /// </exception>
    /// <exception cref="ObjectDisposedException">The scheduler was disposed.</exception>
    public void Enqueue(GenerationJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        // A cancelled job leaves at once, even while it waits or the batch is idle.
        var wake = job.CancellationToken.CanBeCanceled ? job.CancellationToken.Register(Signal) : default;
        try
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_stopping, this);
                if (_options.MaxKvCacheTokens is int max)
                {
                    int held = _activeTokens + _queuedTokens;
                    if (job.ReservedTokens > max) throw new KvCacheFullException(job.ReservedTokens, held, max);
                    if (_options.WhenKvCacheFull == KvCacheFullBehavior.Reject && held + job.ReservedTokens > max)
                        throw new KvCacheFullException(job.ReservedTokens, held, max);
                }
                job.WakeOnCancel = wake;
                _queue.AddLast(job);
                _queuedTokens += job.ReservedTokens;
            }
        }
        catch
        {
            wake.Dispose();
            throw;
        }
        Signal();
    }

    /// <summary>Runs <paramref name="factory"/>'s generator in the batch and streams its tokens.</summary>
    /// <param name="factory">Makes the generator, on the scheduler's thread.</param>
    /// <param name="reservedTokens">Prompt plus maximum new tokens.</param>
    /// <param name="disposeSequence">Whether the sequence is disposed when the request ends.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="KvCacheFullException">The K/V reservation does not fit (see <see cref="Enqueue"/>).</exception>
    public ScheduledGeneration Submit(Func<Generator> factory, int reservedTokens, bool disposeSequence = true, CancellationToken cancellationToken = default)
    {
        var job = new GeneratorJob(factory, reservedTokens, disposeSequence, cancellationToken);
        Enqueue(job);
        return job.Tokens;
    }

    /// <summary>Stops the thread; running and queued requests end cancelled.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping) return;
            _stopping = true;
        }
        Signal();
        if (Thread.CurrentThread != _thread) _thread.Join();
        _wake.Dispose();
    }

    private void Signal()
    {
        try { _wake.Release(); }
        catch (ObjectDisposedException) { } // a cancellation callback after Dispose
        catch (SemaphoreFullException) { }
    }

    private void Loop()
    {
        while (true)
        {
            if (_stopping)
            {
                Shutdown();
                return;
            }
            Admit();
            RetireCancelled();
            if (_active.Count == 0)
            {
                _wake.Wait();
                continue;
            }
            Step();
        }
    }

    /// <summary>Moves queued jobs into the batch while slots and K/V allow, oldest first; cancelled ones leave the queue.</summary>
    private void Admit()
    {
        while (true)
        {
            GenerationJob? job;
            lock (_gate)
            {
                job = null;
                for (var node = _queue.First; node is not null;)
                {
                    var next = node.Next;
                    if (node.Value.CancellationToken.IsCancellationRequested)
                    {
                        _queue.Remove(node);
                        _queuedTokens -= node.Value.ReservedTokens;
                        Finish(node.Value, new OperationCanceledException(node.Value.CancellationToken));
                    }
                    node = next;
                }
                if (_queue.First is not { } first || _active.Count >= _options.MaxBatchSize) return;
                if (_options.MaxKvCacheTokens is int max && _activeTokens + first.Value.ReservedTokens > max) return;
                job = first.Value;
                _queue.RemoveFirst();
                _queuedTokens -= job.ReservedTokens;
                _activeTokens += job.ReservedTokens;
            }
            Generator generator;
            try
            {
                generator = job.Start();
            }
            catch (Exception e)
            {
                Release(job.ReservedTokens);
                Finish(job, e);
                continue;
            }
            _active.Add(new Slot(job, generator));
            Volatile.Write(ref _activeCount, _active.Count);
        }
    }

    private void RetireCancelled()
    {
        for (int i = _active.Count - 1; i >= 0; i--)
            if (_active[i].Job.CancellationToken.IsCancellationRequested) Retire(i, new OperationCanceledException(_active[i].Job.CancellationToken));
    }

    /// <summary>
    /// One step: every decoding request's next tokens, plus prefill chunks up to the step's prompt-token budget (requests
    /// take turns), in one batched call.
    /// </summary>
    private void Step()
    {
        var steps = new List<SequenceStep>(_active.Count);
        var owners = new List<Slot>(_active.Count);
        bool prefillTaken = false, prefillFull = false;
        int count = _active.Count, turn = _prefillTurn, budget = _options.PrefillTokensPerStep;
        for (int k = 0; k < count; k++)
        {
            var slot = _active[(k + turn) % count];
            if (slot.Prefill is null && slot.Pending is null)
            {
                SequenceStep? next;
                long started = OpProfile.Start();
                try { next = slot.Generator.NextStep(); }
                catch (Exception e) { slot.Error = e; continue; }
                finally { OpProfile.Stop("scheduler: next step (drafting, constraints)", started); }
                if (next is null) { slot.Done = true; continue; }
                if (next.Value.LastRowOnly) slot.Prefill = next;
                else slot.Pending = next;
            }
            if (slot.Pending is { } decode)
            {
                steps.Add(decode);
                owners.Add(slot);
            }
            else if (!prefillFull && slot.Prefill is { } prefill)
            {
                // Several prompts' chunks share a step up to the budget (the first always runs); each chunk still runs on
                // its own kernels, so a prompt's results do not depend on its neighbours. The first chunk that does not
                // fit ends the step's prefill and leads the next one, so no prompt is passed over.
                var chunk = slot.NextChunk(prefill, _options.PrefillChunkTokens);
                if (prefillTaken && chunk.Tokens.Count > budget)
                {
                    prefillFull = true;
                    continue;
                }
                prefillTaken = true;
                budget -= chunk.Tokens.Count;
                _prefillTurn = (k + turn + 1) % count;
                steps.Add(chunk);
                owners.Add(slot);
            }
        }
        if (steps.Count > 0) RunAndAdvance(steps, owners);
        StepCount++;
        for (int i = _active.Count - 1; i >= 0; i--)
        {
            var slot = _active[i];
            if (slot.Error is { } error) Retire(i, error);
            else if (slot.Done || slot.Generator.IsFinished) Retire(i, null);
        }
    }

    private void RunAndAdvance(List<SequenceStep> steps, List<Slot> owners)
    {
        IReadOnlyList<StepLogits> logits;
        var lengths = steps.Select(s => s.Sequence.Length).ToArray();
        long started = OpProfile.Start();
        try
        {
            logits = _model.Decode(steps);
            OpProfile.Stop(steps.Any(s => s.LastRowOnly) ? "scheduler: model step with prefill" : "scheduler: model step, decode rows only", started);
        }
        catch (Exception) when (steps.Count > 1)
        {
            // Find the step that failed: every sequence goes back to where it stood before the step (a model may have run
            // some before failing), then each step runs alone.
            for (int i = 0; i < steps.Count; i++)
            {
                if (!steps[i].Sequence.IsDisposed && steps[i].Sequence.Length > lengths[i]) steps[i].Sequence.TruncateTo(lengths[i]);
            }
            for (int i = 0; i < steps.Count; i++)
            {
                try { Advance(owners[i], steps[i], _model.Decode([steps[i]])[0]); }
                catch (Exception e) { owners[i].Error ??= e; }
            }
            return;
        }
        catch (Exception e)
        {
            owners[0].Error = e;
            return;
        }
        started = OpProfile.Start();
        for (int i = 0; i < steps.Count; i++) Advance(owners[i], steps[i], logits[i]);
        OpProfile.Stop("scheduler: advance (sampling, verification, streaming)", started);
    }

    private static void Advance(Slot slot, SequenceStep step, StepLogits logits)
    {
        try
        {
            if (step.LastRowOnly && slot.Prefill is { } prefill)
            {
                // Earlier chunks only fill the K/V; the prompt's last chunk gives the logits its generator samples from.
                slot.PrefillDone += step.Tokens.Count;
                if (slot.PrefillDone < prefill.Tokens.Count) return;
                slot.Prefill = null;
                slot.PrefillDone = 0;
            }
            else slot.Pending = null;
            var emitted = slot.Generator.Advance(logits);
            if (emitted.Count > 0) slot.Job.OnTokens(emitted);
            if (slot.Job.IsComplete) slot.Done = true;
        }
        catch (Exception e)
        {
            slot.Error ??= e;
        }
    }

    private void Retire(int index, Exception? error)
    {
        var slot = _active[index];
        _active.RemoveAt(index);
        Volatile.Write(ref _activeCount, _active.Count);
        Release(slot.Job.ReservedTokens);
        Finish(slot.Job, error);
        Signal(); // freed K/V may admit a queued job
    }

    private void Release(int tokens)
    {
        lock (_gate) _activeTokens -= tokens;
    }

    private static void Finish(GenerationJob job, Exception? error)
    {
        job.WakeOnCancel.Dispose();
        try { job.OnFinished(error); }
        catch (Exception) { } // the job's own clean-up failing must not stop the others
    }

    private void Shutdown()
    {
        for (int i = _active.Count - 1; i >= 0; i--) Retire(i, new OperationCanceledException("The batch scheduler was disposed."));
        lock (_gate)
        {
            foreach (var job in _queue) Finish(job, new OperationCanceledException("The batch scheduler was disposed."));
            _queue.Clear();
            _queuedTokens = 0;
        }
    }

    /// <summary>A running request: its generator and where its prompt's chunked prefill stands.</summary>
    private sealed class Slot(GenerationJob job, Generator generator)
    {
        public GenerationJob Job { get; } = job;

        public Generator Generator { get; } = generator;

        /// <summary>The prefill step being run in chunks, or null.</summary>
        public SequenceStep? Prefill { get; set; }

        /// <summary>Tokens of <see cref="Prefill"/> already run.</summary>
        public int PrefillDone { get; set; }

        /// <summary>A decode step waiting to run, or null.</summary>
        public SequenceStep? Pending { get; set; }

        public Exception? Error { get; set; }

        public bool Done { get; set; }

        /// <summary>The next chunk: up to the next position that is a multiple of <paramref name="chunk"/>.</summary>
        public SequenceStep NextChunk(SequenceStep prefill, int chunk)
        {
            int position = prefill.Sequence.Length, left = prefill.Tokens.Count - PrefillDone;
            int take = Math.Min(left, chunk - (position % chunk));
            var tokens = PrefillDone == 0 && take == prefill.Tokens.Count ? prefill.Tokens : prefill.Tokens.Skip(PrefillDone).Take(take).ToArray();
            return new SequenceStep(prefill.Sequence, tokens, LastRowOnly: true);
        }
    }
}
