namespace QuickSilver.Engine.Generation;

/// <summary>Why generation ended.</summary>
public enum GenerationFinishReason
{
    /// <summary>A stop token (or EOS) was produced.</summary>
    Stop,
    /// <summary>The token budget or the context window ran out.</summary>
    Length,
    /// <summary>The constraint reported a complete output.</summary>
    ConstraintComplete,
}
