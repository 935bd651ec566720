namespace QuickSilver.Engine.Generation;

/// <summary>
/// Proposes tokens that are likely to come next. The <see cref="Generator"/> verifies them all in one decode step and keeps
/// the longest prefix the sampler would have chosen itself, so drafts change speed, never output.
/// </summary>
public interface IDraftProvider
{
    /// <summary>
    /// Up to <paramref name="maxTokens"/> tokens to follow <paramref name="context"/> (prompt and output so far, the last token
    /// not yet run through the model); empty when there is no good guess.
    /// </summary>
    IReadOnlyList<int> Propose(IReadOnlyList<int> context, int maxTokens);

    /// <summary>
    /// Told after each verification how many of the <paramref name="proposed"/> tokens of the last proposal were
    /// <paramref name="accepted"/>, so a provider can adapt how much it drafts.
    /// </summary>
    void Verified(int proposed, int accepted)
    {
    }
}
