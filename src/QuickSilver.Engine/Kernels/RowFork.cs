namespace QuickSilver.Engine.Kernels;

/// <summary>
/// Forks a decode matrix-vector product over threads with less overhead than the thread pool (<see cref="PoolFork"/>):
/// persistent worker threads spin briefly on a generation counter after each product (the next one usually follows within
/// microseconds) before sleeping on a semaphore; the caller runs share 0 itself and spins until the others are done.
/// One product at a time: a call made while another is in flight, or from inside a share, takes <see cref="PoolFork"/> instead.
/// </summary>
internal static class RowFork
{
    private const int SpinIterations = 20_000; // ≈ 50–100 µs of pause instructions before a worker sleeps

    private static readonly object Gate = new();
    private static Worker[] _workers = [];
    private static Action<int>? _body;
    private static int _parts, _pending, _busy, _generation;
    private static Exception? _failure;
    [ThreadStatic] private static bool t_inside;

    /// <summary>
    /// Runs <paramref name="body"/>(0 .. <paramref name="parts"/> − 1) on the persistent workers when
    /// <see cref="KernelSettings.PersistentWorkers"/> is on, else on the thread pool (<see cref="PoolFork"/>); share 0 on the calling thread.
    /// </summary>
    public static void For(int parts, Action<int> body) => For(parts, body, KernelSettings.PersistentWorkers);

    /// <summary>As <see cref="For(int, Action{int})"/>, on the persistent workers or not as <paramref name="persistent"/> says.</summary>
    internal static void For(int parts, Action<int> body, bool persistent)
    {
        if (parts <= 1)
        {
            body(0);
            return;
        }
        if (!persistent || t_inside || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            PoolFork.For(parts, body);
            return;
        }
        try
        {
            EnsureWorkers(parts - 1);
            (_body, _parts, _failure) = (body, parts, null);
            Volatile.Write(ref _pending, parts - 1);
            Interlocked.Increment(ref _generation); // full fence: the job is visible before the new generation
            for (int i = 0; i < parts - 1; i++) _workers[i].Wake();
            t_inside = true;
            try { body(0); }
            catch (Exception e) { Interlocked.CompareExchange(ref _failure, e, null); } // the workers must finish before the job is released
            finally { t_inside = false; }
            var spin = new SpinWait();
            while (Volatile.Read(ref _pending) != 0) spin.SpinOnce(sleep1Threshold: -1);
            _body = null;
            if (_failure is { } failure) throw new AggregateException(failure);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private static void EnsureWorkers(int count)
    {
        if (_workers.Length >= count) return;
        lock (Gate)
        {
            var workers = _workers;
            if (workers.Length >= count) return;
            var grown = new Worker[count];
            Array.Copy(workers, grown, workers.Length);
            for (int i = workers.Length; i < count; i++) grown[i] = new Worker(i + 1, Volatile.Read(ref _generation));
            _workers = grown;
        }
    }

    private sealed class Worker
    {
        private readonly SemaphoreSlim _signal = new(0);
        private readonly int _share;
        private int _seen, _sleeping;

        public Worker(int share, int generation)
        {
            (_share, _seen) = (share, generation);
            new Thread(Loop) { IsBackground = true, Name = $"QuickSilver row fork {share}" }.Start();
        }

        public void Wake()
        {
            // Pairs with the worker's Exchange then re-check: either it sees the new generation or we see it sleeping.
            if (Interlocked.CompareExchange(ref _sleeping, 0, 1) == 1) _signal.Release();
        }

        private void Loop()
        {
            t_inside = true;
            while (true)
            {
                int generation = WaitForWork();
                _seen = generation;
                if (_share >= Volatile.Read(ref _parts)) continue;
                try { _body!(_share); }
                catch (Exception e) { Interlocked.CompareExchange(ref _failure, e, null); }
                Interlocked.Decrement(ref _pending);
            }
        }

        private int WaitForWork()
        {
            while (true)
            {
                for (int i = 0; i < SpinIterations; i++)
                {
                    int generation = Volatile.Read(ref _generation);
                    if (generation != _seen) return generation;
                    Thread.SpinWait(1);
                }
                Interlocked.Exchange(ref _sleeping, 1);
                int now = Volatile.Read(ref _generation);
                if (now != _seen)
                {
                    Interlocked.Exchange(ref _sleeping, 0);
                    return now;
                }
                _signal.Wait();
            }
        }
    }
}
