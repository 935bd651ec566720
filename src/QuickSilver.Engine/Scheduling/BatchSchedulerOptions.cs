namespace QuickSilver.Engine.Scheduling;

/// <summary>Settings of a <see cref="BatchScheduler"/>.</summary>
public sealed class BatchSchedulerOptions
{
    /// <summary>Most requests decoding together in one step (default 8); further requests wait for a free slot.</summary>
    public int MaxBatchSize { get; set; } = 8;

    /// <summary>
    /// Most prompt tokens run in one prefill chunk (default 256). Chunks end at positions that are multiples of it, so a
    /// prompt is cut identically whether it runs alone or beside others.
    /// </summary>
    public int PrefillChunkTokens { get; set; } = 256;

    /// <summary>
    /// Most prompt tokens one step runs across all prefilling requests (default 512): the chunks of several prompts share a
    /// step with the decode rows, so concurrent prompts prefill in few steps, while the bound keeps a step short enough that
    /// the running requests are not starved. A step always runs at least one chunk, even one larger than the budget.
    /// </summary>
    public int PrefillTokensPerStep { get; set; } = 512;

    /// <summary>
    /// Bound on the K/V positions reserved by admitted requests (each reserves its prompt plus its maximum new tokens);
    /// null (default) leaves it unbounded.
    /// </summary>
    public int? MaxKvCacheTokens { get; set; }

    /// <summary>What happens to a request that does not fit <see cref="MaxKvCacheTokens"/> now (default: it waits).</summary>
    public KvCacheFullBehavior WhenKvCacheFull { get; set; } = KvCacheFullBehavior.Queue;

    /// <summary>A copy.</summary>
    public BatchSchedulerOptions Clone() => (BatchSchedulerOptions)MemberwiseClone();

    /// <summary>Throws when a setting is out of range, naming it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public void Validate()
    {
        if (MaxBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, "BatchSchedulerOptions.MaxBatchSize must be at least 1.");
        if (PrefillChunkTokens < 1) throw new ArgumentOutOfRangeException(nameof(PrefillChunkTokens), PrefillChunkTokens, "BatchSchedulerOptions.PrefillChunkTokens must be at least 1.");
        if (PrefillTokensPerStep < 1) throw new ArgumentOutOfRangeException(nameof(PrefillTokensPerStep), PrefillTokensPerStep, "BatchSchedulerOptions.PrefillTokensPerStep must be at least 1.");
        if (MaxKvCacheTokens is < 1) throw new ArgumentOutOfRangeException(nameof(MaxKvCacheTokens), MaxKvCacheTokens, "BatchSchedulerOptions.MaxKvCacheTokens must be at least 1 (or null for no bound).");
        if (!Enum.IsDefined(WhenKvCacheFull)) throw new ArgumentOutOfRangeException(nameof(WhenKvCacheFull), WhenKvCacheFull, "BatchSchedulerOptions.WhenKvCacheFull must be Queue or Reject.");
    }
}
