namespace QuickSilver.Engine.Generation;

/// <summary>What a stopping criterion says about the token just chosen.</summary>
/// <param name="Stop">Generation ends.</param>
/// <param name="IncludeToken">The token is emitted before stopping (a stop id is not; a token completing a stop string is).</param>
/// <param name="Reason">Why it ends.</param>
public readonly record struct StopDecision(bool Stop, bool IncludeToken, GenerationFinishReason Reason)
{
    /// <summary>Keep going.</summary>
    public static StopDecision Continue => default;

    /// <summary>Stop without emitting the token.</summary>
    public static StopDecision Before(GenerationFinishReason reason) => new(true, false, reason);

    /// <summary>Emit the token, then stop.</summary>
    public static StopDecision After(GenerationFinishReason reason) => new(true, true, reason);
}
