namespace QuickSilver.Engine.Speculative;

/// <summary>
/// Adapts how many tokens a draft provider proposes from how many the verification accepted: after a fully accepted draft
/// the length doubles (up to the maximum); after a rejection it drops to one more than was accepted. When the running
/// acceptance rate falls below <see cref="MinAcceptance"/> the provider rests and only probes every few steps, so a drafter
/// that costs work of its own (early exit) stops costing it where it does not pay. A probe that fails again doubles the
/// next rest (up to <see cref="MaxRestSteps"/>), so a drafter that never pays on this model and context costs almost nothing;
/// a probe that succeeds restores the short rest. Everything depends only on the verification counts, never on timing, so
/// drafting stays deterministic given the context.
/// </summary>
public sealed class DraftFeedback
{
    // Weight of the newest verification in the running acceptance rate.
    private const double Smoothing = 0.25;
    private readonly int _maxTokens;
    private int _length;
    private int _rest;
    private int _nextRest;
    private bool _probing;

    /// <summary>Creates feedback for drafts of at most <paramref name="maxTokens"/> tokens.</summary>
    /// <param name="maxTokens">Longest draft (at least 1).</param>
    /// <param name="minAcceptance">Acceptance rate in [0, 1) below which drafting rests; 0 never rests.</param>
    /// <param name="restSteps">Steps to rest before probing again (at least 1).</param>
    /// <param name="maxRestSteps">Longest rest after repeated failed probes (at least <paramref name="restSteps"/>; default 8 × it).</param>
    /// <param name="initialTokens">Length of the first draft (1 to <paramref name="maxTokens"/>; default <paramref name="maxTokens"/>).
    /// A drafter whose drafts cost work of their own starts short and doubles while its drafts are accepted.</param>
    /// <param name="initialAcceptance">The running acceptance rate before any verification, in [0, 1] (default 1). At
    /// <paramref name="minAcceptance"/>, the first rejected draft already rests the drafter: an unproven drafter is on probation.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public DraftFeedback(int maxTokens, double minAcceptance = 0, int restSteps = 8, int? maxRestSteps = null, int? initialTokens = null, double initialAcceptance = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        if (!(minAcceptance >= 0 && minAcceptance < 1)) throw new ArgumentOutOfRangeException(nameof(minAcceptance), minAcceptance, "The minimum acceptance rate must be in [0, 1).");
        ArgumentOutOfRangeException.ThrowIfLessThan(restSteps, 1);
        int maxRest = maxRestSteps ?? (8 * restSteps);
        if (maxRest < restSteps) throw new ArgumentOutOfRangeException(nameof(maxRestSteps), maxRest, $"The longest rest must be at least restSteps ({restSteps}).");
        int first = initialTokens ?? maxTokens;
        if (first < 1 || first > maxTokens) throw new ArgumentOutOfRangeException(nameof(initialTokens), first, $"The first draft length must be between 1 and maxTokens ({maxTokens}).");
        if (!(initialAcceptance >= 0 && initialAcceptance <= 1)) throw new ArgumentOutOfRangeException(nameof(initialAcceptance), initialAcceptance, "The initial acceptance rate must be in [0, 1].");
        _maxTokens = maxTokens;
        _length = first;
        AcceptanceRate = initialAcceptance;
        MinAcceptance = minAcceptance;
        RestSteps = restSteps;
        MaxRestSteps = maxRest;
        _nextRest = restSteps;
    }

    /// <summary>Acceptance rate below which drafting rests.</summary>
    public double MinAcceptance { get; }

    /// <summary>Steps the first rest lasts.</summary>
    public int RestSteps { get; }

    /// <summary>Steps a rest lasts at most, after repeated failed probes.</summary>
    public int MaxRestSteps { get; }

    /// <summary>Running acceptance rate (accepted ÷ proposed, recent verifications weighted most); starts at the initial acceptance (default 1).</summary>
    public double AcceptanceRate { get; private set; }

    /// <summary>Tokens proposed, all verifications together.</summary>
    public long Proposed { get; private set; }

    /// <summary>Tokens accepted, all verifications together.</summary>
    public long Accepted { get; private set; }

    /// <summary>How many tokens to draft now, at most <paramref name="requested"/>; 0 while resting. Call once per step.</summary>
    public int Limit(int requested)
    {
        if (requested <= 0) return 0;
        if (_rest > 0)
        {
            _rest--;
            return 0;
        }
        return Math.Min(requested, _length);
    }

    /// <summary>Records that <paramref name="accepted"/> of <paramref name="proposed"/> drafted tokens were accepted.</summary>
    public void Record(int proposed, int accepted)
    {
        if (proposed <= 0) return;
        accepted = Math.Clamp(accepted, 0, proposed);
        Proposed += proposed;
        Accepted += accepted;
        AcceptanceRate = ((1 - Smoothing) * AcceptanceRate) + (Smoothing * accepted / proposed);
        _length = accepted == proposed ? Math.Min(_maxTokens, 2 * _length) : Math.Max(1, accepted + 1);
        bool probe = _probing;
        _probing = false;
        if (AcceptanceRate < MinAcceptance)
        {
            // A failed probe: the drafter still does not pay here, so wait twice as long before the next one.
            if (probe) _nextRest = Math.Min(MaxRestSteps, 2 * _nextRest);
            _rest = _nextRest;
            _probing = true;
            AcceptanceRate = MinAcceptance; // a probe after the rest decides afresh
        }
        else if (probe)
        {
            _nextRest = RestSteps;
        }
    }
}
