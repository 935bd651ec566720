namespace QuickSilver.Engine.Generation;

/// <summary>Stops once the constraint (already advanced with the token) reports a complete output.</summary>
public sealed class ConstraintCompleteCriterion(ITokenConstraint constraint) : IStoppingCriterion
{
    private readonly ITokenConstraint _constraint = constraint ?? throw new ArgumentNullException(nameof(constraint));

    /// <inheritdoc />
    public StopDecision Check(int tokenId, GenerationProgress progress)
        => _constraint.IsComplete ? StopDecision.After(GenerationFinishReason.ConstraintComplete) : StopDecision.Continue;
}
