namespace QuickSilver.Engine.Generation;

/// <summary>Stops at the token budget, or when the context has no position left to run the token through.</summary>
public sealed class LengthCriterion(int maxNewTokens) : IStoppingCriterion
{
    /// <inheritdoc />
    public StopDecision Check(int tokenId, GenerationProgress progress)
    {
        int emitted = progress.Output.Count + 1;
        // The last token needs no position of its own: it is never run through the model.
        bool contextFull = progress.PromptLength + emitted > progress.ContextLength;
        return emitted >= maxNewTokens || contextFull ? StopDecision.After(GenerationFinishReason.Length) : StopDecision.Continue;
    }
}
