namespace QuickSilver.Engine.Generation;

/// <summary>
/// Picks a token from processed logits: greedy at temperature 0, else a seeded draw after temperature, top-k and top-p.
/// Its state is the seed and the number of draws, so a snapshot is a count and restoring replays the generator.
/// </summary>
public sealed class TokenSampler
{
    private readonly float _temperature;
    private readonly int _topK;
    private readonly float _topP;
    private readonly int _seed;
    private Random _random;
    private long _draws;

    /// <summary>Creates a sampler; a null <paramref name="seed"/> draws one.</summary>
    public TokenSampler(float temperature, int topK, float topP, long? seed)
    {
        if (!float.IsFinite(temperature) || temperature < 0) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "Temperature must be a finite number ≥ 0.");
        ArgumentOutOfRangeException.ThrowIfNegative(topK);
        if (!float.IsFinite(topP) || topP <= 0 || topP > 1) throw new ArgumentOutOfRangeException(nameof(topP), topP, "TopP must be in (0, 1].");
        _temperature = temperature;
        _topK = topK;
        _topP = topP;
        _seed = seed is long s ? unchecked((int)(s ^ (s >> 32))) : Random.Shared.Next();
        _random = new Random(_seed);
    }

    /// <summary>Whether the choice is the argmax (temperature 0).</summary>
    public bool IsGreedy => _temperature == 0;

    /// <summary>Picks a token from <paramref name="logits"/> (already penalized and masked).</summary>
    /// <exception cref="InvalidOperationException">Every token is disallowed.</exception>
    public int Sample(ReadOnlySpan<float> logits)
    {
        int best = ArgMax(logits);
        if (float.IsNegativeInfinity(logits[best]))
            throw new InvalidOperationException("Every token is disallowed at this step (the constraint admits no continuation).");
        return _temperature == 0 ? best : Draw(logits);
    }

    /// <summary>
    /// Records a token the constraint forced (the only one its mask allows) without logits: a seeded draw consumes one random
    /// number exactly as <see cref="Sample"/> does on a one-token distribution, so the random stream stays identical to
    /// sampling under the constraint.
    /// </summary>
    public void SkipForced()
    {
        if (_temperature == 0) return;
        _draws++;
        _random.NextDouble();
    }

    /// <summary>Captures the random state.</summary>
    public long Snapshot() => _draws;

    /// <summary>Returns to a state captured by <see cref="Snapshot"/>.</summary>
    public void Restore(long snapshot)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(snapshot);
        if (snapshot == _draws) return;
        _random = new Random(_seed);
        for (long i = 0; i < snapshot; i++) _random.NextDouble();
        _draws = snapshot;
    }

    /// <summary>Index of the largest value (the first on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    private int Draw(ReadOnlySpan<float> logits)
    {
        int n = logits.Length;
        var orderList = new List<int>(n);
        for (int i = 0; i < n; i++) if (!float.IsNegativeInfinity(logits[i])) orderList.Add(i);
        var order = orderList.ToArray();
        var keys = new float[order.Length];
        for (int j = 0; j < order.Length; j++) keys[j] = -logits[order[j]];
        Array.Sort(keys, order); // descending logits; stable tie order is irrelevant for a seeded draw
        int keep = _topK > 0 ? Math.Min(_topK, order.Length) : order.Length;
        double max = logits[order[0]] / _temperature;
        var probs = new double[keep];
        double total = 0;
        for (int j = 0; j < keep; j++) { probs[j] = Math.Exp(logits[order[j]] / _temperature - max); total += probs[j]; }
        if (_topP < 1f)
        {
            double cumulative = 0;
            int cut = keep;
            for (int j = 0; j < keep; j++)
            {
                cumulative += probs[j] / total;
                if (cumulative >= _topP) { cut = j + 1; break; }
            }
            keep = cut;
            total = probs.Take(keep).Sum();
        }
        _draws++;
        double r = _random.NextDouble() * total;
        for (int j = 0; j < keep; j++)
        {
            r -= probs[j];
            if (r <= 0) return order[j];
        }
        return order[keep - 1];
    }
}
