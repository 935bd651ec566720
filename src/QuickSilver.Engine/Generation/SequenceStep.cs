namespace QuickSilver.Engine.Generation;

/// <summary>
/// One sequence's part of a decode step: <paramref name="Tokens"/> are appended after the sequence's current tokens.
/// With <paramref name="LastRowOnly"/> the step returns the logits of its last token only (a prefill or prefill chunk);
/// otherwise one row per appended token (what speculative verification needs).
/// </summary>
public readonly record struct SequenceStep(Sequence Sequence, IReadOnlyList<int> Tokens, bool LastRowOnly = false);
