using QuickSilver.Engine.Models;
using TorchSharp;

namespace QuickSilver.Engine.Runtime;

/// <summary>The K/V caches of every layer for one sequence, plus the tokens they hold.</summary>
public sealed class KvCache : IDisposable
{
    private readonly LayerKvCache[] _layers;
    private readonly bool[][] _written; // host mirror: which positions each layer holds, for accounting and traces
    private readonly float[] _decisionEntropy; // per position, the entropy read at the quantization decision layer (NaN: none)

    /// <summary>
    /// Creates empty caches for <paramref name="config"/> with room for <paramref name="contextLength"/> positions, keys and
    /// values stored as <paramref name="storage"/>. A layer with a sliding window (<see cref="ModelConfig.WindowOf"/>) keeps only
    /// the keys its queries can still see, plus <paramref name="rollbackMargin"/> positions of rollback.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="storage"/> is not a defined <see cref="KvCacheType"/>, or
    /// <paramref name="rollbackMargin"/> is not positive.</exception>
    public KvCache(ModelConfig config, int contextLength, torch.Device device, int initialCapacity = 256, KvCacheType storage = KvCacheType.Float32,
        int rollbackMargin = LayerKvCache.DefaultRollbackMargin)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!Enum.IsDefined(storage))
            throw new ArgumentOutOfRangeException(nameof(storage), storage, "The K/V cache type (LanguageModelOptions.KvCacheType) must be Float32, Float16 or BFloat16.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rollbackMargin);
        Config = config;
        Storage = storage;
        Device = device;
        ContextLength = contextLength;
        RollbackMargin = rollbackMargin;
        _layers = new LayerKvCache[config.NumLayers];
        for (int i = 0; i < _layers.Length; i++)
            _layers[i] = new LayerKvCache(config.NumKvHeads, config.HeadDim, contextLength, Math.Min(initialCapacity, contextLength), device, storage: storage,
                window: config.WindowOf(i), rollbackMargin: rollbackMargin);
        _written = new bool[config.NumLayers][];
        for (int i = 0; i < _written.Length; i++) _written[i] = new bool[contextLength];
        _decisionEntropy = new float[contextLength];
        Array.Fill(_decisionEntropy, float.NaN);
        DenseBytesPerToken = (long)config.NumLayers * (2L * config.NumKvHeads * config.HeadDim * LayerKvCache.ElementBytes(storage) + sizeof(long));
    }

    /// <summary>How keys and values are stored.</summary>
    public KvCacheType Storage { get; }

    /// <summary>Positions a rollback may always go back by on sliding-window layers (beyond undoing the latest append).</summary>
    public int RollbackMargin { get; }

    /// <summary>
    /// The earliest position other than 0 the cache can continue from (<see cref="TruncateFrom"/>, <see cref="CopyPrefixFrom"/>):
    /// 0 until a sliding-window layer evicted keys.
    /// </summary>
    public int EarliestTruncation => _layers.Length == 0 ? 0 : _layers.Max(l => l.EarliestTruncation);

    /// <summary>Whether every layer holds the keys a query at <paramref name="position"/> sees, so the cache can continue from there.</summary>
    public bool HoldsPrefix(int position) => _layers.All(l => l.HoldsPrefix(position));

    /// <summary>Maximum positions.</summary>
    public int ContextLength { get; }

    /// <summary>The model configuration the cache is shaped for.</summary>
    public ModelConfig Config { get; }

    /// <summary>Where the entries live.</summary>
    public torch.Device Device { get; }

    /// <summary>Number of positions processed (whether or not every layer wrote them).</summary>
    public int Length { get; set; }

    /// <summary>Per-layer caches.</summary>
    public LayerKvCache this[int layer] => _layers[layer];

    /// <summary>Bytes a dense cache would hold for <see cref="Length"/> tokens.</summary>
    public long DenseBytesPerToken { get; }

    /// <summary>Bytes held by written entries, all layers.</summary>
    public long UsedBytes => _layers.Sum(l => l.UsedBytes);

    /// <summary>Bytes allocated, all layers.</summary>
    public long AllocatedBytes => _layers.Sum(l => l.AllocatedBytes);

    /// <summary>Records that <paramref name="layer"/> holds positions [<paramref name="start"/>, start + count).</summary>
    public void MarkWritten(int layer, int start, int count) => Array.Fill(_written[layer], true, start, count);

    /// <summary>Records that <paramref name="layer"/> holds <paramref name="positions"/>.</summary>
    public void MarkWritten(int layer, IEnumerable<int> positions)
    {
        ArgumentNullException.ThrowIfNull(positions);
        foreach (int p in positions) _written[layer][p] = true;
    }

    /// <summary>Whether <paramref name="layer"/> holds <paramref name="position"/>.</summary>
    public bool IsWritten(int layer, int position) => _written[layer][position];

    /// <summary>Number of (query, key) pairs the given queries attend to at <paramref name="layer"/>: keys written at or before each query.</summary>
    public double VisibleKeyPairs(int layer, IEnumerable<int> queryPositions)
    {
        ArgumentNullException.ThrowIfNull(queryPositions);
        var written = _written[layer];
        double pairs = 0;
        int counted = 0, upTo = -1;
        foreach (int q in queryPositions) // ascending
        {
            while (upTo < q) { upTo++; if (written[upTo]) counted++; }
            pairs += counted;
        }
        return pairs;
    }

    /// <summary>
    /// The entropy read for <paramref name="position"/> at the quantization decision layer, or NaN when none was. Kept so that
    /// a later pass (a decode step) normalizes with the same prefix statistics as one pass over the whole text would.
    /// </summary>
    public float DecisionEntropy(int position) => _decisionEntropy[position];

    /// <summary>Records the decision-layer entropy of <paramref name="position"/>.</summary>
    public void SetDecisionEntropy(int position, float entropy) => _decisionEntropy[position] = entropy;

    /// <summary>Drops every entry at or beyond <paramref name="position"/>.</summary>
    /// <exception cref="KvCacheEvictedException">A sliding-window layer already evicted keys a query at <paramref name="position"/>
    /// needs (see <see cref="EarliestTruncation"/>); nothing is dropped.</exception>
    public void TruncateFrom(int position)
    {
        if (!HoldsPrefix(position)) throw new KvCacheEvictedException(position, EarliestTruncation);
        foreach (var layer in _layers) layer.TruncateFrom(position);
        foreach (var written in _written) Array.Fill(written, false, position, written.Length - position);
        Array.Fill(_decisionEntropy, float.NaN, position, _decisionEntropy.Length - position);
        Length = Math.Min(Length, position);
    }

    /// <summary>
    /// Makes this cache hold exactly <paramref name="source"/>'s first <paramref name="length"/> positions: every layer's entries
    /// (same order and precision), which layers wrote them, and the decision-layer entropies. What was here before is dropped.
    /// </summary>
    /// <exception cref="ArgumentException">The caches differ in shape or storage type, or the prefix does not fit.</exception>
    /// <exception cref="KvCacheEvictedException">The source's sliding-window layers evicted keys the prefix's next query needs.</exception>
    public void CopyPrefixFrom(KvCache source, int length)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source._layers.Length != _layers.Length) throw new ArgumentException($"A cache of {source._layers.Length} layers cannot fill one of {_layers.Length}.", nameof(source));
        if (source.Storage != Storage) throw new ArgumentException($"A {source.Storage} cache cannot fill a {Storage} one: the copy would not read as the source does.", nameof(source));
        if (length < 0 || length > source.Length || length > ContextLength)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"The prefix must be within the source's {source.Length} positions and this cache's {ContextLength}.");
        if (!source.HoldsPrefix(length)) throw new KvCacheEvictedException(length, source.EarliestTruncation);
        Clear();
        for (int l = 0; l < _layers.Length; l++)
        {
            _layers[l].CopyPrefixFrom(source._layers[l], length);
            Array.Copy(source._written[l], _written[l], length);
        }
        Array.Copy(source._decisionEntropy, _decisionEntropy, length);
        Length = length;
    }

    /// <summary>Forgets everything.</summary>
    public void Clear()
    {
        foreach (var layer in _layers) layer.Clear();
        foreach (var written in _written) Array.Clear(written);
        Array.Fill(_decisionEntropy, float.NaN);
        Length = 0;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var layer in _layers) layer.Dispose();
    }
}
