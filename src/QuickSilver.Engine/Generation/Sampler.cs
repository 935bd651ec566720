namespace QuickSilver.Engine.Generation;

/// <summary>
/// One position's choice as a single call: the request's penalties, its constraint, then <see cref="TokenSampler"/>.
/// The <see cref="Generator"/> composes the same parts; this wrapper serves callers that hold logits themselves.
/// </summary>
public sealed class Sampler
{
    private readonly List<ILogitsProcessor> _processors;
    private readonly TokenSampler _sampler;

    /// <summary>Creates a sampler; <paramref name="context"/> seeds the repetition penalty with the prompt.</summary>
    public Sampler(GenerationRequest request, IEnumerable<int> context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Validate(request);
        _processors = Processors(request, context);
        _sampler = new TokenSampler(request.Temperature, request.TopK, request.TopP, request.Seed);
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
        Check(request.MaxDraftTokens >= 0 && request.MaxDraftTokens < Generator.MaxStepTokens, nameof(request.MaxDraftTokens), request.MaxDraftTokens, $"must be in [0, {Generator.MaxStepTokens - 1}]");
        Check(request.MaxForcedTokens >= 1 && request.MaxForcedTokens < Generator.MaxStepTokens, nameof(request.MaxForcedTokens), request.MaxForcedTokens, $"must be in [1, {Generator.MaxStepTokens - 1}]");
        foreach (string stop in request.StopSequences)
            Check(!string.IsNullOrEmpty(stop), nameof(request.StopSequences), stop ?? "null", "must not contain empty strings");
    }

    /// <summary>The request's logits processors in application order: penalties, then the constraint.</summary>
    public static List<ILogitsProcessor> Processors(GenerationRequest request, IEnumerable<int> context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var processors = new List<ILogitsProcessor>();
        var penalties = new PenaltyProcessor(request.RepetitionPenalty, request.FrequencyPenalty, request.PresencePenalty, context);
        if (penalties.IsActive) processors.Add(penalties);
        if (request.Constraint is { } constraint) processors.Add(new ConstraintProcessor(constraint));
        return processors;
    }

    /// <summary>Picks the next token from <paramref name="logits"/> (modified in place) and records it.</summary>
    public int Sample(Span<float> logits)
    {
        foreach (var processor in _processors) processor.Process(logits);
        int token = _sampler.Sample(logits);
        foreach (var processor in _processors) processor.Accept(token);
        return token;
    }
}
