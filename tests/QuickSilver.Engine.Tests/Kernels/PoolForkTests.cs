using QuickSilver.Engine.Kernels;

namespace QuickSilver.Engine.Tests.Kernels;

/// <summary><see cref="PoolFork"/> runs every share exactly once, reports failures, nests and runs from several threads at once, and hardly allocates.</summary>
public sealed class PoolForkTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(16)]
    public void Every_share_runs_exactly_once(int parts)
    {
        for (int call = 0; call < 200; call++) // many calls: a late work item of one call must not run a share of the next
        {
            var runs = new int[Math.Max(1, parts)];
            PoolFork.For(parts, s => Interlocked.Increment(ref runs[s]));
            for (int s = 0; s < parts; s++) Assert.Equal(1, runs[s]);
        }
    }

    [Fact]
    public void Calls_with_growing_share_counts_run_every_share_exactly_once()
    {
        // A work item left queued by a call with few shares must not claim a share of a later call with more shares while
        // that call is still setting up (the call closes its share counter when it ends).
        for (int call = 0; call < 3000; call++)
        {
            int parts = 2 + (call % 7);
            var runs = new int[parts];
            PoolFork.For(parts, s => Interlocked.Increment(ref runs[s]));
            for (int s = 0; s < parts; s++) Assert.Equal(1, runs[s]);
        }
    }

    [Fact]
    public void A_failing_share_throws_an_aggregate_exception_after_every_share_finished()
    {
        var runs = new int[4];
        var error = Assert.Throws<AggregateException>(() => PoolFork.For(4, s =>
        {
            Interlocked.Increment(ref runs[s]);
            if (s == 2) throw new InvalidOperationException("share 2");
        }));
        Assert.Equal("share 2", Assert.IsType<InvalidOperationException>(error.InnerException).Message);
        Assert.All(runs, r => Assert.Equal(1, r));
        // The thread's job is usable again after a failure.
        int total = 0;
        PoolFork.For(3, s => Interlocked.Add(ref total, s + 1));
        Assert.Equal(6, total);
    }

    [Fact]
    public void A_share_may_fork_again()
    {
        var runs = new int[3, 5];
        PoolFork.For(3, outer => PoolFork.For(5, inner => Interlocked.Increment(ref runs[outer, inner])));
        foreach (int r in runs) Assert.Equal(1, r);
    }

    [Fact]
    public void Several_threads_fork_at_once()
    {
        var totals = new long[4];
        var threads = Enumerable.Range(0, totals.Length).Select(t => new Thread(() =>
        {
            for (int call = 0; call < 300; call++) PoolFork.For(2 + (call % 3), s => Interlocked.Add(ref totals[t], s + 1));
        })).ToArray();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();
        long expected = Enumerable.Range(0, 300).Sum(call => (long)Enumerable.Range(1, 2 + (call % 3)).Sum());
        Assert.All(totals, total => Assert.Equal(expected, total));
    }

    [Fact]
    public void Warm_calls_allocate_next_to_nothing_on_the_calling_thread()
    {
        int sink = 0;
        Action<int> body = s => Interlocked.Add(ref sink, s);
        for (int i = 0; i < 10; i++) PoolFork.For(2, body); // the thread's job, the pool's queues
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) PoolFork.For(2, body);
        // Parallel.For allocates ~1–2 KB per call; here at most a one-time wait handle when a wait first blocks.
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4096);
    }
}
