using QuickSilver.Engine.Generation;

namespace QuickSilver.Engine.Speculative;

/// <summary>
/// Self-speculative drafting for a <see cref="Generator"/> on one sequence: QuickSilver's halting layer proposes greedy tokens
/// (<see cref="EarlyExitDrafter"/>) and the generator's step verifies them with the full model, so the output is exactly the
/// full model's. Drafting rests while the acceptance rate is too low for the shallow passes to pay (<see cref="DraftFeedback"/>).
/// </summary>
public sealed class EarlyExitDraftProvider : IDraftProvider
{
    /// <summary>Acceptance rate below which drafting rests: a draft token costs about the exit layer's share of a step.</summary>
    public const double DefaultMinAcceptance = 0.5;

    private readonly EarlyExitDrafter _drafter;
    private readonly ModelSequence _sequence;

    /// <summary>Creates a provider drafting for <paramref name="sequence"/>, a sequence of <paramref name="model"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="sequence">The sequence the generator extends.</param>
    /// <param name="exitLayer">Blocks a draft runs; null takes <see cref="EarlyExitDrafter.DefaultExitLayer"/> for the sequence's policy.</param>
    /// <param name="maxTokens">Longest draft.</param>
    /// <exception cref="ArgumentException">The sequence was not created by <paramref name="model"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The exit layer leaves no layer to skip, or <paramref name="maxTokens"/> is below 1.</exception>
    public EarlyExitDraftProvider(LanguageModel model, Sequence sequence, int? exitLayer = null, int maxTokens = 4)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sequence);
        if (sequence is not ModelSequence owned || !ReferenceEquals(owned.Model, model))
            throw new ArgumentException("The sequence was not created by this model.", nameof(sequence));
        _sequence = owned;
        _drafter = new EarlyExitDrafter(model.Transformer, exitLayer ?? EarlyExitDrafter.DefaultExitLayer(model.Config, sequence.Options.Policy));
        // Shallow passes cost a share of a step each, and an exit layer often agrees with the full model on few tokens (4% at
        // layer 2 of stories260K's 5): start with one-token drafts on probation, so a drafter that does not pay rests after its
        // first miss instead of after three (the first of them maxTokens long), and let acceptance earn the longer drafts.
        Feedback = new DraftFeedback(maxTokens, DefaultMinAcceptance, initialTokens: 1, initialAcceptance: DefaultMinAcceptance);
    }

    /// <summary>Blocks a draft step runs.</summary>
    public int ExitLayer => _drafter.ExitLayer;

    /// <summary>The acceptance feedback that sets the draft length and rests drafting.</summary>
    public DraftFeedback Feedback { get; }

    /// <inheritdoc />
    public IReadOnlyList<int> Propose(IReadOnlyList<int> context, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(context);
        // The drafter continues from the cache, which must hold everything but the last (pending) token.
        if (context.Count == 0 || _sequence.IsDisposed || _sequence.Length != context.Count - 1 || _sequence.Cache.Length != _sequence.Length) return [];
        int limit = Feedback.Limit(maxTokens);
        return limit == 0 ? [] : _drafter.Propose(_sequence.Cache, context[^1], limit);
    }

    /// <inheritdoc />
    public void Verified(int proposed, int accepted) => Feedback.Record(proposed, accepted);
}
