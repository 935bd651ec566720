namespace QuickSilver.Engine.Generation;

/// <summary>
/// One sequence's part of a decode step: <paramref name="Tokens"/> are appended after the sequence's current tokens.
/// <paramref name="LastRowOnly"/> marks a prompt (or prompt chunk): only its last token's logits come back, and a scheduler may
/// treat it as prefill work. A decode step leaves it false and gets one row per appended token (the pending token, then any
/// drafts: what speculative verification needs). <paramref name="LogitsFrom"/> (decode steps only) is the first row whose
/// logits are wanted: rows before it are tokens nobody samples (jump-forward's forced tokens), so a model may skip their head
/// and return rows [LogitsFrom, count) only; a model that returns every row is also accepted.
/// </summary>
public readonly record struct SequenceStep(Sequence Sequence, IReadOnlyList<int> Tokens, bool LastRowOnly = false, int LogitsFrom = 0);
