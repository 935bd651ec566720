namespace QuickSilver.Engine.Generation;

/// <summary>A prompt (plus what must be generated) does not fit the context window.</summary>
public sealed class ContextLengthExceededException : QuickSilverException
{
    /// <summary>Creates the exception.</summary>
    public ContextLengthExceededException(int promptTokens, int contextLength)
        : base($"The prompt has {promptTokens} tokens but the context window holds {contextLength}.")
    {
        PromptTokens = promptTokens;
        ContextLength = contextLength;
    }

    /// <summary>Prompt length in tokens.</summary>
    public int PromptTokens { get; }
    /// <summary>Context window.</summary>
    public int ContextLength { get; }
}
