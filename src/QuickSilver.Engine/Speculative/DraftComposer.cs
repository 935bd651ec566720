using QuickSilver.Engine.Generation;

namespace QuickSilver.Engine.Speculative;

/// <summary>
/// Several draft providers in order of preference: the first one with a proposal drafts the step, and it alone hears how
/// its draft fared. Put the cheap ones first (prompt lookup costs a hash lookup, early exit costs shallow forward passes).
/// </summary>
public sealed class DraftComposer : IDraftProvider
{
    private readonly IDraftProvider[] _providers;
    private IDraftProvider? _last;

    /// <summary>Composes <paramref name="providers"/> (at least one).</summary>
    /// <exception cref="ArgumentException">No provider, or a null one.</exception>
    public DraftComposer(params IDraftProvider[] providers)
    {
        ArgumentNullException.ThrowIfNull(providers);
        if (providers.Length == 0) throw new ArgumentException("A draft composer needs at least one provider.", nameof(providers));
        if (providers.Any(p => p is null)) throw new ArgumentException("A draft provider is null.", nameof(providers));
        _providers = [.. providers];
    }

    /// <summary>The providers, in order of preference.</summary>
    public IReadOnlyList<IDraftProvider> Providers => _providers;

    /// <inheritdoc />
    public IReadOnlyList<int> Propose(IReadOnlyList<int> context, int maxTokens)
    {
        _last = null;
        foreach (var provider in _providers)
        {
            var proposal = provider.Propose(context, maxTokens);
            if (proposal.Count == 0) continue;
            _last = provider;
            return proposal;
        }
        return [];
    }

    /// <inheritdoc />
    public void Verified(int proposed, int accepted) => _last?.Verified(proposed, accepted);
}
