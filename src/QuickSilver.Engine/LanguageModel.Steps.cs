using QuickSilver.Engine.Generation;

namespace QuickSilver.Engine;

/// <summary>The step API: sequences with their own K/V and routing state, prefilled and decoded in batches.</summary>
public sealed partial class LanguageModel : IStepModel
{
    private StepExecutor? _steps;
    private int[]? _endIds;

    /// <inheritdoc />
    public int VocabSize => Config.VocabSize;

    /// <inheritdoc />
    public IReadOnlyCollection<int> EndOfSequenceIds => _endIds ??= new[] { Config.EosTokenId, Tokenizer.EosTokenId }.Where(id => id >= 0).Distinct().ToArray();

    private StepExecutor Steps => _steps ??= new StepExecutor(this);

    /// <summary>Creates an empty sequence with its own K/V cache and routing state.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The context length is below 2 or beyond the model's positions.</exception>
    /// <exception cref="QuickSilver.Policies.PolicyValidationException">The policy does not fit this model.</exception>
    public Sequence CreateSequence(SequenceOptions? options = null)
    {
        options ??= new SequenceOptions();
        int length = options.ContextLength ?? ContextLength;
        if (length < 2 || length > Config.MaxPositions)
            throw new ArgumentOutOfRangeException(nameof(options), length, $"SequenceOptions.ContextLength must be in [2, {Config.MaxPositions}] (got {length}).");
        return new ModelSequence(this, length, options);
    }

    /// <summary>Appends <paramref name="tokens"/> to <paramref name="sequence"/> and returns the logits of the last one.</summary>
    /// <exception cref="ContextLengthExceededException">The tokens do not fit the sequence's context.</exception>
    public float[] Prefill(Sequence sequence, IReadOnlyList<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        ArgumentNullException.ThrowIfNull(tokens);
        return Steps.Run([new SequenceStep(sequence, tokens, LastRowOnly: true)])[0].LastRow.ToArray();
    }

    /// <inheritdoc />
    public IReadOnlyList<StepLogits> Decode(IReadOnlyList<SequenceStep> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return Steps.Run(batch);
    }
}
