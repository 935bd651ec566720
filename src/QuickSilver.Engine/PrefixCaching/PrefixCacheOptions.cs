namespace QuickSilver.Engine.PrefixCaching;

/// <summary>Settings of a <see cref="PrefixCache"/>.</summary>
public sealed class PrefixCacheOptions
{
    /// <summary>Most bytes of K/V the cache keeps (all entries together); the least recently used entries go first. Positive.</summary>
    public long MaxBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Granularity in tokens: prefills run in chunks that end on multiples of this, and prefixes are reused in whole blocks,
    /// so a reused prefix was computed by exactly the passes a fresh computation runs (bit-identical results). Positive.
    /// </summary>
    public int BlockTokens { get; set; } = 64;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (MaxBytes <= 0) throw new ArgumentOutOfRangeException(nameof(MaxBytes), MaxBytes, "PrefixCacheOptions.MaxBytes must be positive.");
        if (BlockTokens <= 0) throw new ArgumentOutOfRangeException(nameof(BlockTokens), BlockTokens, "PrefixCacheOptions.BlockTokens must be positive.");
    }

    /// <summary>A copy.</summary>
    public PrefixCacheOptions Clone() => (PrefixCacheOptions)MemberwiseClone();
}
