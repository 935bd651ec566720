namespace QuickSilver.Engine.Generation;

/// <summary>Decides, for each chosen token, whether generation ends. Stateful criteria roll back with the generator.</summary>
public interface IStoppingCriterion
{
    /// <summary>Judges <paramref name="tokenId"/>, chosen after <paramref name="progress"/>.</summary>
    StopDecision Check(int tokenId, GenerationProgress progress);

    /// <summary>Captures the state (null when the criterion keeps none).</summary>
    object? Snapshot() => null;

    /// <summary>Returns to a state captured by <see cref="Snapshot"/>.</summary>
    void Restore(object? snapshot)
    {
    }
}
