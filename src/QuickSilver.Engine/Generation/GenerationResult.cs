using QuickSilver.Engine.Runtime;

namespace QuickSilver.Engine.Generation;

/// <summary>The outcome of one generation call.</summary>
public sealed class GenerationResult
{
    /// <summary>Generated token ids (stop token excluded).</summary>
    public required IReadOnlyList<int> Tokens { get; init; }
    /// <summary>Why generation ended.</summary>
    public required GenerationFinishReason FinishReason { get; init; }
    /// <summary>Prompt length in tokens.</summary>
    public required int PromptTokens { get; init; }
    /// <summary>Prompt tokens served from the session's cache instead of being prefilled again.</summary>
    public required int CachedPromptTokens { get; init; }
    /// <summary>Runtime counts (prefill and decode together).</summary>
    public required RuntimeStats Stats { get; init; }
    /// <summary>Per-pass token traces (the prefill, then one per decode step) when <see cref="GenerationRequest.CollectTrace"/> was set; otherwise empty.</summary>
    public IReadOnlyList<TokenTrace> Traces { get; init; } = [];
    /// <summary>Seconds from the call to the first generated token.</summary>
    public double TimeToFirstTokenSeconds { get; init; }
    /// <summary>Seconds spent in total.</summary>
    public double TotalSeconds { get; init; }
}
