namespace QuickSilver.Engine.Generation;

/// <summary>A point a <see cref="Generator"/> can return to: output, sequence length, sampler, processors and criteria.</summary>
public sealed class GeneratorSnapshot
{
    internal GeneratorSnapshot(int sequenceLength, int outputCount, int? pending, long sampler, object?[] processors, object?[] criteria, GenerationFinishReason? finish)
    {
        SequenceLength = sequenceLength;
        OutputCount = outputCount;
        Pending = pending;
        Sampler = sampler;
        Processors = processors;
        Criteria = criteria;
        Finish = finish;
    }

    /// <summary>Tokens the sequence held.</summary>
    public int SequenceLength { get; }

    /// <summary>Tokens emitted.</summary>
    public int OutputCount { get; }

    internal int? Pending { get; }

    internal long Sampler { get; }

    internal object?[] Processors { get; }

    internal object?[] Criteria { get; }

    internal GenerationFinishReason? Finish { get; }

    internal bool LastIncluded { get; init; }
}
