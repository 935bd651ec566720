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
    /// <summary>Positions absorbed by fusion that were re-scored from the last position of their own prefix.</summary>
    public required long RescoredAbsorbed { get; init; }
    /// <summary>Seconds spent in forward passes.</summary>
    public required double Seconds { get; init; }
    /// <summary>Tokens scored per second.</summary>
    public double TokensPerSecond => Seconds > 0 ? ScoredTokens / Seconds : 0;
    /// <summary>Runtime counts over all windows.</summary>
    public required RuntimeStats Stats { get; init; }
}
