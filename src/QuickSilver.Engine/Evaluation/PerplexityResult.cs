using QuickSilver.Engine.Runtime;

namespace QuickSilver.Engine.Evaluation;

/// <summary>Outcome of a perplexity evaluation.</summary>
public sealed class PerplexityResult
{
    /// <summary>exp(mean NLL).</summary>
    public required double Perplexity { get; init; }
    /// <summary>Mean negative log-likelihood in nats per token.</summary>
    public required double MeanNll { get; init; }
    /// <summary>Tokens scored.</summary>
    public required long ScoredTokens { get; init; }
    /// <summary>Tokens in the text (including BOS).</summary>
    public required long TotalTokens { get; init; }
    /// <summary>Positions whose window state depended on a later token (absorbed by fusion, or inside a non-adjacent fused pair), re-scored from the last position of their own prefix.</summary>
    public required long RescoredAbsorbed { get; init; }
    /// <summary>Seconds spent in forward passes.</summary>
    public required double Seconds { get; init; }
    /// <summary>Tokens scored per second.</summary>
    public double TokensPerSecond => Seconds > 0 ? ScoredTokens / Seconds : 0;
    /// <summary>Runtime counts over every pass the evaluator ran: the windows and the re-scoring passes (whose FLOPs are actual cost, with no dense counterpart).</summary>
    public required RuntimeStats Stats { get; init; }
    /// <summary>The paper's accounting: the windows only, as if absorbed tokens simply stopped. Reported apart, labelled as such.</summary>
    public RuntimeStats PaperStats { get; init; } = new();
    /// <summary>Negative log-likelihood of each target ids[1..], in order (index t − 1 for target t).</summary>
    public IReadOnlyList<double> TokenNll { get; init; } = [];
    /// <summary>Actual FLOPs of the re-scoring passes (included in <see cref="Stats"/>).</summary>
    public double RescoreFlops { get; init; }
}
