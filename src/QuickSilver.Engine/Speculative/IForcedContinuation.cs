namespace QuickSilver.Engine.Speculative;

/// <summary>
/// A constraint that can say which tokens it forces: tokens that are, one after another, the only token its mask allows.
/// Sampling would pick each of them whatever the logits, so jump-forward may append them in one pass instead of one step each.
/// </summary>
public interface IForcedContinuation
{
    /// <summary>
    /// Writes into <paramref name="destination"/> the tokens forced from the current state, in order, as if each were
    /// accepted in turn, and returns how many. The constraint's own state does not change.
    /// </summary>
    int PeekForced(Span<int> destination);
}
