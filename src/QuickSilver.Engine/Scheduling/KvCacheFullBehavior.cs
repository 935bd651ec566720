namespace QuickSilver.Engine.Scheduling;

/// <summary>What <see cref="BatchScheduler"/> does with a request whose K/V reservation does not fit the bound now.</summary>
public enum KvCacheFullBehavior
{
    /// <summary>The request waits until running requests finish and free enough K/V (default).</summary>
    Queue,

    /// <summary>The request fails at once with <see cref="KvCacheFullException"/>.</summary>
    Reject,
}
