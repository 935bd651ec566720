namespace QuickSilver.Engine.Generation;

/// <summary>Stops at EOS, end-of-turn and the request's stop ids; the id itself is not emitted.</summary>
public sealed class StopTokenCriterion(IEnumerable<int> stopIds) : IStoppingCriterion
{
    private readonly HashSet<int> _ids = [.. stopIds ?? throw new ArgumentNullException(nameof(stopIds))];

    /// <inheritdoc />
    public StopDecision Check(int tokenId, GenerationProgress progress)
        => _ids.Contains(tokenId) ? StopDecision.Before(GenerationFinishReason.Stop) : StopDecision.Continue;
}
