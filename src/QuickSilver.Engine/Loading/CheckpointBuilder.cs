using QuickSilver.Engine.Models;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Engine.Loading;

/// <summary>Collects canonical tensors for one checkpoint and checks them against the config before handing out <see cref="CheckpointData"/>.</summary>
internal sealed class CheckpointBuilder
{
    private readonly Dictionary<string, HostTensor> _tensors = new(StringComparer.Ordinal);

    public CheckpointBuilder(ModelConfig config, string source)
    {
        Config = config;
        Source = source;
    }

    public ModelConfig Config { get; }

    public string Source { get; }

    /// <summary>Throws naming the source tensor when <paramref name="actual"/> differs from <paramref name="expected"/>.</summary>
    public static void ExpectShape(string path, string sourceTensor, ReadOnlySpan<long> expected, ReadOnlySpan<long> actual)
    {
        if (!expected.SequenceEqual(actual))
        {
            throw new ModelFormatException(path,
                $"tensor '{sourceTensor}' has shape {WeightLayout.FormatShape(actual.ToArray())} but the config implies {WeightLayout.FormatShape(expected.ToArray())}.");
        }
    }

    public void Add(string canonicalName, long[] shape, float[] data)
    {
        if (!_tensors.TryAdd(canonicalName, new HostTensor(canonicalName, shape, data)))
            throw new InvalidOperationException($"Loader bug: canonical tensor '{canonicalName}' added twice.");
    }

    /// <summary>Adds a tensor built elsewhere (e.g. a weight kept in its ggml blocks).</summary>
    public void Add(HostTensor tensor)
    {
        if (!_tensors.TryAdd(tensor.Name, tensor))
            throw new InvalidOperationException($"Loader bug: canonical tensor '{tensor.Name}' added twice.");
    }

    public bool Contains(string canonicalName) => _tensors.ContainsKey(canonicalName);

    public CheckpointData Build(ITokenizer? tokenizer, IReadOnlyDictionary<string, string> metadata)
    {
        IReadOnlyDictionary<string, long[]> expected = WeightLayout.ExpectedShapes(Config);
        foreach ((string name, long[] shape) in expected)
        {
            if (!_tensors.TryGetValue(name, out HostTensor? tensor))
                throw new ModelFormatException(Source, $"missing tensor for canonical weight '{name}'.");
            if (!shape.AsSpan().SequenceEqual(tensor.Shape))
                throw new ModelFormatException(Source, $"canonical weight '{name}' has shape {WeightLayout.FormatShape(tensor.Shape)} but the config implies {WeightLayout.FormatShape(shape)}.");
            if (tensor.Length != tensor.ElementCount)
                throw new InvalidOperationException($"Loader bug: '{name}' holds {tensor.Length} values for shape {WeightLayout.FormatShape(tensor.Shape)}.");
        }
        foreach (string name in _tensors.Keys)
        {
            if (!expected.ContainsKey(name))
                throw new InvalidOperationException($"Loader bug: canonical tensor '{name}' is not part of the layout for this config.");
        }
        return new CheckpointData(Config, _tensors, tokenizer, Source, metadata);
    }
}
