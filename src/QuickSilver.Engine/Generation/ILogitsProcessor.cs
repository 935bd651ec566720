namespace QuickSilver.Engine.Generation;

/// <summary>
/// One stage between the model's logits and the sampler (penalties, constraint masking). A processor sees every accepted
/// token and can return to an earlier state, so a speculative verifier can roll back.
/// </summary>
public interface ILogitsProcessor
{
    /// <summary>Adjusts <paramref name="logits"/> for the next position in place.</summary>
    void Process(Span<float> logits);

    /// <summary>Records the token chosen for that position.</summary>
    void Accept(int tokenId);

    /// <summary>Whether <see cref="Snapshot"/> and <see cref="Restore"/> work.</summary>
    bool CanRollBack => true;

    /// <summary>Captures the state (null when the processor keeps none).</summary>
    object? Snapshot();

    /// <summary>Returns to a state captured by <see cref="Snapshot"/>.</summary>
    void Restore(object? snapshot);
}
