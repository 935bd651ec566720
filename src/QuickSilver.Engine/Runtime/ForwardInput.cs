namespace QuickSilver.Engine.Runtime;

/// <summary>One forward pass over consecutive tokens of one sequence.</summary>
public sealed class ForwardInput
{
    /// <summary>Token ids to process.</summary>
    public required IReadOnlyList<int> TokenIds { get; init; }
    /// <summary>Position of the first token (the cache must hold exactly the positions before it).</summary>
    public int StartPosition { get; init; }
    /// <summary>The sequence's cache, or null for a stand-alone pass.</summary>
    public KvCache? Cache { get; init; }
    /// <summary>The resolved policy, or null for dense.</summary>
    public RoutingPlan? Plan { get; init; }
    /// <summary>Per-position overrides (same length as <see cref="TokenIds"/>), or null.</summary>
    public TokenFlags? Flags { get; init; }
    /// <summary>Return logits for every position (true) or only the last (false).</summary>
    public bool AllLogits { get; init; }

    /// <summary>
    /// With <see cref="AllLogits"/>: the first row whose logits are wanted; the pass returns rows [LogitsFrom, T) only, so rows
    /// nobody samples (jump-forward's forced tokens) skip the head. Default 0.
    /// </summary>
    public int LogitsFrom { get; init; }
    /// <summary>Counts are added here.</summary>
    public RuntimeStats Stats { get; init; } = new();
    /// <summary>Per-token trace to fill, or null.</summary>
    public TokenTrace? Trace { get; init; }
    /// <summary>Also return the final hidden states (1, T, d).</summary>
    public bool ReturnHidden { get; init; }

    /// <summary>A copy of this input that uses <paramref name="cache"/>.</summary>
    public ForwardInput WithCache(KvCache cache) => new()
    {
        TokenIds = TokenIds, StartPosition = StartPosition, Cache = cache, Plan = Plan, Flags = Flags,
        AllLogits = AllLogits, LogitsFrom = LogitsFrom, Stats = Stats, Trace = Trace, ReturnHidden = ReturnHidden,
    };
}
