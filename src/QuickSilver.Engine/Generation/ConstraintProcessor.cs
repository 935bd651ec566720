namespace QuickSilver.Engine.Generation;

/// <summary>Masks logits with an <see cref="ITokenConstraint"/> and advances it with each accepted token.</summary>
public sealed class ConstraintProcessor(ITokenConstraint constraint) : ILogitsProcessor
{
    private readonly ITokenConstraint _constraint = constraint ?? throw new ArgumentNullException(nameof(constraint));
    private bool? _canRollBack;

    /// <summary>The constraint.</summary>
    public ITokenConstraint Constraint => _constraint;

    /// <inheritdoc />
    public bool CanRollBack => _canRollBack ??= _constraint.Snapshot() is not null;

    /// <inheritdoc />
    public void Process(Span<float> logits) => _constraint.Apply(logits);

    /// <inheritdoc />
    public void Accept(int tokenId) => _constraint.Accept(tokenId);

    /// <inheritdoc />
    public object? Snapshot() => _constraint.Snapshot() ?? throw new NotSupportedException($"{_constraint.GetType().Name} cannot roll back.");

    /// <inheritdoc />
    public void Restore(object? snapshot) => _constraint.Restore(snapshot ?? throw new ArgumentNullException(nameof(snapshot)));
}
