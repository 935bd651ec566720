namespace QuickSilver.Engine.Generation;

/// <summary>
/// Runs one decode step over a batch of sequences. Every step of the engine goes through <see cref="Run"/>; several steps
/// run as one batched forward (<see cref="Runtime.ForwardRunner.RunBatch"/>).
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
        if (batch.Count == 1)
        {
            results[0] = owned[0].Run(batch[0].Tokens, batch[0].LastRowOnly, batch[0].LogitsFrom);
            return results;
        }
        // One pass over all sequences' rows (ForwardRunner.RunBatch): decode rows share every weight read, and each
        // sequence's logits equal its step alone.
        var inputs = new Runtime.ForwardInput[batch.Count];
        for (int i = 0; i < batch.Count; i++) inputs[i] = owned[i].PrepareStep(batch[i].Tokens, batch[i].LastRowOnly, batch[i].LogitsFrom);
        var outputs = model.Runner.RunBatch(inputs);
        try
        {
            for (int i = 0; i < batch.Count; i++) results[i] = owned[i].CompleteStep(batch[i].Tokens, batch[i].LastRowOnly, batch[i].LogitsFrom, outputs[i]);
        }
        finally
        {
            foreach (var output in outputs) output.Dispose();
        }
        return results;
    }
}
