namespace QuickSilver.Engine.Generation;

/// <summary>Turns one position's logits into a token: penalties, constraint, temperature, top-k, top-p, then a draw.</summary>
public sealed class Sampler
{
    private readonly GenerationRequest _request;
    private readonly Random _random;
    private readonly Dictionary<int, int> _generatedCounts = [];
    private readonly HashSet<int> _seen = [];

    /// <summary>Creates a sampler; <paramref name="context"/> seeds the repetition penalty with the prompt.</summary>
    public Sampler(GenerationRequest request, IEnumerable<int> context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Validate(request);
        _request = request;
        _random = request.Seed is long seed ? new Random(unchecked((int)(seed ^ (seed >> 32)))) : new Random();
        foreach (int id in context) _seen.Add(id);
    }

    /// <summary>Checks every sampling setting; throws <see cref="ArgumentOutOfRangeException"/> naming the bad one.</summary>
    public static void Validate(GenerationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        static void Check(bool ok, string name, object value, string rule)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, value, $"{name} {rule} (got {value}).");
        }
        Check(request.MaxNewTokens >= 1, nameof(request.MaxNewTokens), request.MaxNewTokens, "must be at least 1");
        Check(float.IsFinite(request.Temperature) && request.Temperature >= 0, nameof(request.Temperature), request.Temperature, "must be a finite number ≥ 0");
        Check(request.TopK >= 0, nameof(request.TopK), request.TopK, "must be ≥ 0");
        Check(float.IsFinite(request.TopP) && request.TopP > 0 && request.TopP <= 1, nameof(request.TopP), request.TopP, "must be in (0, 1]");
        Check(float.IsFinite(request.RepetitionPenalty) && request.RepetitionPenalty > 0, nameof(request.RepetitionPenalty), request.RepetitionPenalty, "must be a finite number > 0");
        Check(float.IsFinite(request.FrequencyPenalty) && Math.Abs(request.FrequencyPenalty) <= 2, nameof(request.FrequencyPenalty), request.FrequencyPenalty, "must be in [−2, 2]");
        Check(float.IsFinite(request.PresencePenalty) && Math.Abs(request.PresencePenalty) <= 2, nameof(request.PresencePenalty), request.PresencePenalty, "must be in [−2, 2]");
    }

    /// <summary>Picks the next token from <paramref name="logits"/> (modified in place).</summary>
    public int Sample(Span<float> logits)
    {
        if (_request.RepetitionPenalty != 1f)
            foreach (int id in _seen)
                if ((uint)id < (uint)logits.Length) logits[id] = logits[id] > 0 ? logits[id] / _request.RepetitionPenalty : logits[id] * _request.RepetitionPenalty;
        if (_request.FrequencyPenalty != 0 || _request.PresencePenalty != 0)
            foreach (var (id, count) in _generatedCounts)
                logits[id] -= _request.FrequencyPenalty * count + _request.PresencePenalty;
        _request.Constraint?.Apply(logits);

        int best = ArgMax(logits);
        if (float.IsNegativeInfinity(logits[best]))
            throw new InvalidOperationException("Every token is disallowed at this step (the constraint admits no continuation).");
        int token = _request.Temperature == 0 ? best : Draw(logits);
        Accept(token);
        return token;
    }

    private void Accept(int token)
    {
        _seen.Add(token);
        _generatedCounts[token] = _generatedCounts.GetValueOrDefault(token) + 1;
        _request.Constraint?.Accept(token);
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    private int Draw(Span<float> logits)
    {
        int n = logits.Length;
        var orderList = new List<int>(n);
        for (int i = 0; i < n; i++) if (!float.IsNegativeInfinity(logits[i])) orderList.Add(i);
        var order = orderList.ToArray();
        var keys = new float[order.Length];
        for (int j = 0; j < order.Length; j++) keys[j] = -logits[order[j]];
        Array.Sort(keys, order); // descending logits; stable tie order is irrelevant for a seeded draw
        int keep = _request.TopK > 0 ? Math.Min(_request.TopK, order.Length) : order.Length;
        double max = logits[order[0]] / _request.Temperature;
        var probs = new double[keep];
        double total = 0;
        for (int j = 0; j < keep; j++) { probs[j] = Math.Exp(logits[order[j]] / _request.Temperature - max); total += probs[j]; }
        if (_request.TopP < 1f)
        {
            double cumulative = 0;
            int cut = keep;
            for (int j = 0; j < keep; j++)
            {
                cumulative += probs[j] / total;
                if (cumulative >= _request.TopP) { cut = j + 1; break; }
            }
            keep = cut;
            total = probs.Take(keep).Sum();
        }
        double r = _random.NextDouble() * total;
        for (int j = 0; j < keep; j++)
        {
            r -= probs[j];
            if (r <= 0) return order[j];
        }
        return order[keep - 1];
    }
}
