namespace QuickSilver.Engine.Generation;

/// <summary>Masks logits so that only allowed continuations can be sampled (constrained decoding).</summary>
public interface ITokenConstraint
{
    /// <summary>Sets disallowed entries of <paramref name="logits"/> to negative infinity.</summary>
    void Apply(Span<float> logits);

    /// <summary>Advances the constraint's state with the token that was sampled.</summary>
    void Accept(int tokenId);

    /// <summary>True when the constrained output is complete; generation then stops with <see cref="GenerationFinishReason.ConstraintComplete"/>.</summary>
    bool IsComplete { get; }
}
