namespace QuickSilver.Engine.Generation;

/// <summary>
/// CTRL-style repetition penalty over prompt and output, and OpenAI-style frequency and presence penalties over the output.
/// Its state is the accepted tokens, so rolling back pops them.
/// </summary>
public sealed class PenaltyProcessor : ILogitsProcessor
{
    private readonly float _repetition;
    private readonly float _frequency;
    private readonly float _presence;
    private readonly Dictionary<int, int> _seen = [];      // id → occurrences in prompt and output
    private readonly Dictionary<int, int> _generated = []; // id → occurrences in output
    private readonly List<int> _accepted = [];

    /// <summary>Creates the processor; <paramref name="context"/> (the prompt) counts toward the repetition penalty.</summary>
    public PenaltyProcessor(float repetitionPenalty, float frequencyPenalty, float presencePenalty, IEnumerable<int> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _repetition = repetitionPenalty;
        _frequency = frequencyPenalty;
        _presence = presencePenalty;
        foreach (int id in context) _seen[id] = _seen.GetValueOrDefault(id) + 1;
    }

    /// <summary>Whether any penalty is on.</summary>
    public bool IsActive => _repetition != 1f || _frequency != 0 || _presence != 0;

    /// <inheritdoc />
    public void Process(Span<float> logits)
    {
        if (_repetition != 1f)
            foreach (int id in _seen.Keys)
                if ((uint)id < (uint)logits.Length) logits[id] = logits[id] > 0 ? logits[id] / _repetition : logits[id] * _repetition;
        if (_frequency != 0 || _presence != 0)
            foreach (var (id, count) in _generated)
                if ((uint)id < (uint)logits.Length) logits[id] -= _frequency * count + _presence;
    }

    /// <inheritdoc />
    public void Accept(int tokenId)
    {
        _accepted.Add(tokenId);
        _seen[tokenId] = _seen.GetValueOrDefault(tokenId) + 1;
        _generated[tokenId] = _generated.GetValueOrDefault(tokenId) + 1;
    }

    /// <inheritdoc />
    public object? Snapshot() => _accepted.Count;

    /// <inheritdoc />
    public void Restore(object? snapshot)
    {
        int count = snapshot is int n ? n : throw new ArgumentException("Not a snapshot of this processor.", nameof(snapshot));
        if (count > _accepted.Count) throw new InvalidOperationException($"The snapshot has {count} accepted tokens but only {_accepted.Count} remain.");
        for (int i = _accepted.Count - 1; i >= count; i--)
        {
            int id = _accepted[i];
            Decrement(_seen, id);
            Decrement(_generated, id);
        }
        _accepted.RemoveRange(count, _accepted.Count - count);
    }

    private static void Decrement(Dictionary<int, int> counts, int id)
    {
        int left = counts[id] - 1;
        if (left == 0) counts.Remove(id); else counts[id] = left;
    }
}
