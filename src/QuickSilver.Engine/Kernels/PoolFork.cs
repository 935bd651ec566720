namespace QuickSilver.Engine.Kernels;

/// <summary>
/// Runs the shares 0 … parts − 1 of one product on the calling thread and the .NET thread pool, as
/// <see cref="Parallel.For(int, int, ParallelOptions, Action{int})"/> does, but without allocating: one job object per
/// calling thread is reused for every call, and the same object is what the pool runs.
/// </summary>
/// <remarks>
/// Why: a decode step forks ~100 products (four per layer plus attention) and a prefill hundreds; Parallel.For allocates
/// ~1–2 KB per call (task replicas, their queue segment, tasks, closures), ~0.2 MB per decode token. That garbage fills the
/// GC's gen0 budget (~25 MB on a machine with a 32 MB L3) and every page of the budget it reaches stays resident, which is
/// a tenth of the 374M model's peak memory (issue 11's memory goal). As with Parallel.For, the caller claims shares too, so
/// it never waits on a busy pool: it runs every share itself when no pool thread comes, and waits only for shares that
/// another thread has started. Which thread runs a share does not change its result.
/// </remarks>
internal static class PoolFork
{
    [ThreadStatic] private static Job? t_job;

    /// <summary>Runs <paramref name="body"/>(0 … <paramref name="parts"/> − 1), share 0 onwards on the calling thread.</summary>
    /// <exception cref="AggregateException">A share threw (the first exception, once every share has finished).</exception>
    public static void For(int parts, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (parts <= 1)
        {
            if (parts == 1) body(0);
            return;
        }
        var job = t_job ??= new Job();
        if (job.Busy)
        {
            // A share forking again on the thread that is running this thread's job: rare; let Parallel.For take it.
            Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, body);
            return;
        }
        job.Run(parts, body);
    }

    /// <summary>One thread's fork, reused call after call; pool threads run it as a work item that claims shares.</summary>
    private sealed class Job : IThreadPoolWorkItem
    {
        private readonly ManualResetEventSlim _done = new(false);
        private Action<int>? _body;
        private const long Closed = int.MaxValue; // the share index of a call that has ended: above any share count
        private long _state;     // generation << 32 | next share to claim: a stale work item cannot claim another call's share
        private int _parts, _finished;
        private Exception? _failure;

        /// <summary>Whether the owning thread is inside <see cref="Run"/>.</summary>
        public bool Busy { get; private set; }

        public void Run(int parts, Action<int> body)
        {
            Busy = true;
            try
            {
                (_body, _parts, _finished, _failure) = (body, parts, 0, null);
                _done.Reset();
                long generation = (Volatile.Read(ref _state) >> 32) + 1;
                Volatile.Write(ref _state, generation << 32); // publishes the fields above to whoever claims a share
                for (int i = 1; i < parts; i++) ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
                RunShares(generation);
                // Always wait on the event: whoever finishes the last share sets it, so no set of this call can land after
                // the next call's reset (which a check of _finished alone would allow).
                _done.Wait();
                // Close the call: a work item still queued from it (the caller often runs every share before a pool thread
                // comes) must not claim a share of the next call while that call is still setting its fields.
                Volatile.Write(ref _state, (generation << 32) | Closed);
                _body = null;
                if (_failure is { } failure) throw new AggregateException(failure);
            }
            finally
            {
                Busy = false;
            }
        }

        void IThreadPoolWorkItem.Execute() => RunShares(Volatile.Read(ref _state) >> 32);

        private void RunShares(long generation)
        {
            while (true)
            {
                long state = Volatile.Read(ref _state);
                if ((state >> 32) != generation || (int)state >= Volatile.Read(ref _parts)) return;
                if (Interlocked.CompareExchange(ref _state, state + 1, state) != state) continue;
                // Claimed: this call cannot end (nor its fields change) before the share is counted below.
                try { _body!((int)state); }
                catch (Exception e) { Interlocked.CompareExchange(ref _failure, e, null); }
                if (Interlocked.Increment(ref _finished) == _parts) _done.Set();
            }
        }
    }
}
