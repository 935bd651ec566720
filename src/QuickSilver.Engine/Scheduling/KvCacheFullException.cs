namespace QuickSilver.Engine.Scheduling;

/// <summary>
/// A request's K/V reservation (prompt plus maximum new tokens) does not fit
/// <see cref="BatchSchedulerOptions.MaxKvCacheTokens"/>: under <see cref="KvCacheFullBehavior.Reject"/> because the running
/// and queued requests hold the rest, or under any behaviour because it exceeds the bound on its own.
/// </summary>
public sealed class KvCacheFullException : InvalidOperationException
{
    /// <summary>Creates the exception with the numbers that did not fit.</summary>
    public KvCacheFullException(int requestedTokens, int reservedTokens, int maxTokens)
        : base(Describe(requestedTokens, reservedTokens, maxTokens))
    {
        RequestedTokens = requestedTokens;
        ReservedTokens = reservedTokens;
        MaxTokens = maxTokens;
    }

    /// <summary>K/V positions the request asked for (prompt + maximum new tokens).</summary>
    public int RequestedTokens { get; }

    /// <summary>K/V positions other requests held when it was refused.</summary>
    public int ReservedTokens { get; }

    /// <summary>The bound, <see cref="BatchSchedulerOptions.MaxKvCacheTokens"/>.</summary>
    public int MaxTokens { get; }

    private static string Describe(int requested, int reserved, int max) => requested > max
        ? $"The request needs {requested} K/V positions (prompt + maximum new tokens) but MaxKvCacheTokens is {max}; raise MaxKvCacheTokens or lower the request's maximum output tokens."
        : $"The K/V cache is full: the request needs {requested} positions, {reserved} of MaxKvCacheTokens = {max} are reserved by other requests, and WhenKvCacheFull is Reject (use Queue to wait).";
}
