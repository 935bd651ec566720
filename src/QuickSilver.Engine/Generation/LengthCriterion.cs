namespace QuickSilver.Engine.Generation;

/// <summary>Stops at the token budget, or when prompt and output fill the context window.</summary>
public sealed class LengthCriterion(int maxNewTokens) : IStoppingCriterion
{
    /// <inheritdoc />
    public StopDecision Check(int tokenId, GenerationProgress progress)
    {
        int emitted = progress.Output.Count + 1;
        // Prompt and output together fit the window, as a caller that sends the conversation back next turn needs.
        bool contextFull = progress.PromptLength + emitted >= progress.ContextLength;
        return emitted >= maxNewTokens || contextFull ? StopDecision.After(GenerationFinishReason.Length) : StopDecision.Continue;
    }
}
