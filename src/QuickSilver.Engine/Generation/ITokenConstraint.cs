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

    /// <summary>
    /// Captures the state so that <see cref="Restore"/> can return to it (speculative verification rolls back rejected tokens),
    /// or null when the constraint cannot; a generator then verifies no drafted tokens under it.
    /// </summary>
    object? Snapshot() => null;

    /// <summary>Returns to a state captured by <see cref="Snapshot"/>.</summary>
    /// <exception cref="NotSupportedException">The constraint cannot roll back (its <see cref="Snapshot"/> returns null).</exception>
    void Restore(object snapshot) => throw new NotSupportedException($"{GetType().Name} cannot roll back.");
}
