using QuickSilver.Engine.Generation;

namespace QuickSilver.Engine.Speculative;

/// <summary>
/// Drafts by prompt lookup (<see cref="PromptLookupDrafter"/>) for a <see cref="Generator"/>: the tokens that followed the
/// latest earlier occurrence of the context's suffix, as many as <see cref="DraftFeedback"/> finds worth verifying.
/// One per request (it indexes that request's context).
/// </summary>
public sealed class PromptLookupDraftProvider : IDraftProvider
{
    private readonly PromptLookupDrafter _drafter;

    /// <summary>Creates a provider.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is invalid.</exception>
    public PromptLookupDraftProvider(PromptLookupOptions? options = null)
    {
        _drafter = new PromptLookupDrafter(options);
        Feedback = new DraftFeedback(_drafter.Options.MaxDraftTokens);
    }

    /// <summary>The acceptance feedback that sets the draft length.</summary>
    public DraftFeedback Feedback { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> Propose(IReadOnlyList<int> context, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(context);
        int limit = Feedback.Limit(maxTokens);
        if (limit == 0) return [];
        _drafter.Sync(context);
        return _drafter.Propose(limit);
    }

    /// <inheritdoc />
    public void Verified(int proposed, int accepted) => Feedback.Record(proposed, accepted);
}
