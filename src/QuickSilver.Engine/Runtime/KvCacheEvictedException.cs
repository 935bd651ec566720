namespace QuickSilver.Engine.Runtime;

/// <summary>
/// A K/V cache was asked to continue from a position whose sliding-window keys it has already evicted: a truncation (rollback,
/// prefix reuse) or a prefix copy further back than the window and the rollback margin keep.
/// </summary>
public sealed class KvCacheEvictedException : QuickSilverException
{
    /// <summary>Creates the exception.</summary>
    public KvCacheEvictedException(int position, int earliestPosition)
        : base($"The K/V cache cannot continue from position {position}: its sliding-window layers have evicted keys that position needs. " +
            $"It can continue from position 0 or from {earliestPosition} on (the window plus the rollback margin, KvCache.RollbackMargin).")
    {
        Position = position;
        EarliestPosition = earliestPosition;
    }

    /// <summary>The position asked for.</summary>
    public int Position { get; }

    /// <summary>The earliest position other than 0 the cache can continue from.</summary>
    public int EarliestPosition { get; }
}
