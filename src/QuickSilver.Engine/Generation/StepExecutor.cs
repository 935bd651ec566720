namespace QuickSilver.Engine.Generation;

/// <summary>
/// Runs one decode step over a batch of sequences. Every step of the engine goes through <see cref="Run"/>, so a batched
/// forward replaces this one method.
/// </summary>
internal sealed class StepExecutor(LanguageModel model)
{
    /// <summary>Runs each step and returns its logits, in batch order.</summary>
    public IReadOnlyList<StepLogits> Run(IReadOnlyList<SequenceStep> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var sequences = new HashSet<Sequence>(ReferenceEqualityComparer.Instance);
        var owned = new ModelSequence[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            var step = batch[i];
            if (step.Sequence is not ModelSequence sequence || !ReferenceEquals(sequence.Model, model))
                throw new ArgumentException($"Step {i}: the sequence was not created by this model.", nameof(batch));
            if (!sequences.Add(sequence)) throw new ArgumentException($"Step {i}: a sequence appears twice in one batch.", nameof(batch));
            sequence.Validate(step.Tokens);
            owned[i] = sequence;
        }
        var results = new StepLogits[batch.Count];
        for (int i = 0; i < batch.Count; i++) results[i] = owned[i].Run(batch[i].Tokens, batch[i].LastRowOnly, batch[i].LogitsFrom);
        return results;
    }
}
