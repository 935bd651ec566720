using System.Collections.Concurrent;
using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Runtime;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Extensions.AI.Backend;

namespace QuickSilver.Extensions.AI.Tests.Fakes;

/// <summary>
/// A model that is only a source of logits, for chat-client tests that run the real <see cref="Generator"/> loop: after a prompt
/// it wants to write a scripted reply, so the reply's next token gets a high logit and every other token a seeded noise logit.
/// Sampling, penalties, constraints, stop ids, stop strings, budgets and prefix reuse are all the engine's. Each step advances
/// <see cref="Clock"/> by <see cref="StepTime"/>, so timings are exact.
/// </summary>
internal abstract class ScriptedStepModel(ITokenizer tokenizer, int contextLength, string modelId) : IQuickSilverBackend, IStepModel
{
    private readonly ConcurrentDictionary<int, bool> _threads = new();

    public string ModelId { get; } = modelId;

    public ITokenizer Tokenizer { get; } = tokenizer;

    public int ContextLength { get; } = contextLength;

    public Dictionary<string, string> MetadataValues { get; } = [];

    public IReadOnlyDictionary<string, string> Metadata => MetadataValues;

    public object? Model => null;

    public IStepModel Steps => this;

    public int VocabSize => Tokenizer.VocabSize;

    public virtual IReadOnlyCollection<int> EndOfSequenceIds => Tokenizer.EosTokenId >= 0 ? [Tokenizer.EosTokenId] : [];

    public ManualTimeProvider Clock { get; } = new();

    public TimeProvider TimeProvider => Clock;

    public static TimeSpan StepTime { get; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Every sequence created, in order.</summary>
    public List<ScriptedSequence> Sessions { get; } = [];

    /// <summary>When set, a request waits for it before its first step (to hold a request "running").</summary>
    public ManualResetEventSlim? Gate { get; set; }

    /// <summary>Signalled when a request starts.</summary>
    public SemaphoreSlim Started { get; } = new(0);

    /// <summary>Called with each generated token when the next step runs it through the model (e.g. to cancel mid-stream).</summary>
    public Action<int>? AfterToken { get; set; }

    /// <summary>Threads that ran steps.</summary>
    public int ThreadsSeen => _threads.Count;

    public Sequence CreateSequence(SequenceOptions options)
    {
        var sequence = new ScriptedSequence(options.ContextLength ?? ContextLength, options);
        lock (Sessions) Sessions.Add(sequence);
        return sequence;
    }

    public void OnRequestStarting(IReadOnlyList<int> promptIds, GenerationRequest request)
    {
        _threads[Environment.CurrentManagedThreadId] = true;
        Record(promptIds, request);
        Started.Release();
        Gate?.Wait();
    }

    /// <summary>The most steps one batched call carried (continuous batching puts concurrent requests in one call).</summary>
    public int MaxBatchSeen { get; private set; }

    public IReadOnlyList<StepLogits> Decode(IReadOnlyList<SequenceStep> batch)
    {
        _threads[Environment.CurrentManagedThreadId] = true;
        MaxBatchSeen = Math.Max(MaxBatchSeen, batch.Count);
        var results = new List<StepLogits>(batch.Count);
        foreach (SequenceStep step in batch)
        {
            var sequence = (ScriptedSequence)step.Sequence;
            ObjectDisposedException.ThrowIf(sequence.Disposed, sequence);
            int start = sequence.Length;
            if (start + step.Tokens.Count > sequence.ContextLength) throw new ContextLengthExceededException(start + step.Tokens.Count, sequence.ContextLength);
            if (!step.LastRowOnly) AfterToken?.Invoke(step.Tokens[0]);
            sequence.Add(step.Tokens, step.LastRowOnly, Reply);
            int rows = step.LastRowOnly ? 1 : step.Tokens.Count;
            float[] values = new float[rows * VocabSize];
            for (int r = 0; r < rows; r++)
            {
                // The row of position p predicts position p + 1: reply index p + 1 − prompt length.
                int index = step.LastRowOnly ? 0 : start + r + 1 - sequence.PromptLength;
                Fill(sequence, index, values.AsSpan(r * VocabSize, VocabSize));
            }
            Account(sequence, step.Tokens.Count, step.LastRowOnly);
            Clock.Advance(StepTime);
            results.Add(new StepLogits(values, rows));
        }
        return results;
    }

    public void Dispose()
    {
    }

    /// <summary>Records a request as it starts.</summary>
    protected abstract void Record(IReadOnlyList<int> promptIds, GenerationRequest request);

    /// <summary>The tokens the model wants to write after <paramref name="prompt"/>.</summary>
    protected abstract IReadOnlyList<int> Reply(IReadOnlyList<int> prompt);

    /// <summary>Logits for reply position <paramref name="index"/>.</summary>
    protected abstract void Fill(ScriptedSequence sequence, int index, Span<float> row);

    /// <summary>Adds a step's work to the sequence's stats.</summary>
    protected virtual void Account(ScriptedSequence sequence, int tokens, bool prompt)
    {
    }
}
