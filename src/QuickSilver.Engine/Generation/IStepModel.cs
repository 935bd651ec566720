using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Engine.Generation;

/// <summary>
/// The step API a <see cref="Generator"/> drives: sequences that are extended by decode steps and cut back by
/// <see cref="Sequence.TruncateTo"/>. <see cref="LanguageModel"/> implements it; tests may supply a plain logits source.
/// </summary>
public interface IStepModel
{
    /// <summary>The tokenizer (stop strings are matched on its bytes).</summary>
    ITokenizer Tokenizer { get; }

    /// <summary>Number of logits per row.</summary>
    int VocabSize { get; }

    /// <summary>Ids that end generation whatever the request says (the model's EOS).</summary>
    IReadOnlyCollection<int> EndOfSequenceIds { get; }

    /// <summary>Creates an empty sequence.</summary>
    Sequence CreateSequence(SequenceOptions options);

    /// <summary>
    /// Appends each step's tokens to its sequence and returns, per step, its logits: one row per appended token, or the last
    /// row only when <see cref="SequenceStep.LastRowOnly"/> is set. The steps must name distinct sequences.
    /// </summary>
    IReadOnlyList<StepLogits> Decode(IReadOnlyList<SequenceStep> batch);
}
