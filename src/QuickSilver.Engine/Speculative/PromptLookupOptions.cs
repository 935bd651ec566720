namespace QuickSilver.Engine.Speculative;

/// <summary>Settings of <see cref="PromptLookupDrafter"/>: which n-gram lengths to match and how many tokens to propose.</summary>
public sealed class PromptLookupOptions
{
    /// <summary>Shortest suffix (in tokens) that must match an earlier span of the context. At least 1.</summary>
    public int MinNgram { get; set; } = 2;

    /// <summary>Longest suffix tried first; a longer match is more likely to continue the same way. At most <see cref="MaxNgramLimit"/>.</summary>
    public int MaxNgram { get; set; } = 4;

    /// <summary>Most tokens proposed per step. At least 1.</summary>
    public int MaxDraftTokens { get; set; } = 8;

    /// <summary>
    /// Whether a match whose continuation reaches the end of the context goes on copying what it just proposed (an
    /// overlapping copy, as LZ77 does): output that loops with a period p then drafts the whole draft length, not only the p
    /// tokens between the latest occurrence and the end. Default on.
    /// </summary>
    public bool ExtendPeriodically { get; set; } = true;

    /// <summary>Upper bound of <see cref="MaxNgram"/>: longer suffixes add hashing cost and almost never change the match.</summary>
    public const int MaxNgramLimit = 16;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (MinNgram < 1) throw new ArgumentOutOfRangeException(nameof(MinNgram), MinNgram, "PromptLookupOptions.MinNgram must be at least 1.");
        if (MaxNgram < MinNgram || MaxNgram > MaxNgramLimit)
            throw new ArgumentOutOfRangeException(nameof(MaxNgram), MaxNgram, $"PromptLookupOptions.MaxNgram must be between MinNgram ({MinNgram}) and {MaxNgramLimit}.");
        if (MaxDraftTokens < 1) throw new ArgumentOutOfRangeException(nameof(MaxDraftTokens), MaxDraftTokens, "PromptLookupOptions.MaxDraftTokens must be at least 1.");
    }

    /// <summary>A copy.</summary>
    public PromptLookupOptions Clone() => (PromptLookupOptions)MemberwiseClone();
}
