namespace QuickSilver.Engine.Generation;

/// <summary>Where generation stands when a token has just been chosen (the token is not in <see cref="Output"/> yet).</summary>
/// <param name="Output">Tokens emitted before this one.</param>
/// <param name="PromptLength">Prompt tokens.</param>
/// <param name="ContextLength">The sequence's positions.</param>
public readonly record struct GenerationProgress(IReadOnlyList<int> Output, int PromptLength, int ContextLength);
