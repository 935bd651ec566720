using QuickSilver.Engine.Models;
using QuickSilver.Policies;
using TorchSharp;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// Runs the model over tokens, dense or under a <see cref="RoutingPlan"/>. The routed loop really removes work:
/// each block runs only on the gathered active tokens; halted tokens keep their frozen state, absorbed tokens
/// hand their state to a super-token, and only the tokens the policy says write K/V at deeper layers.
/// </summary>
public sealed partial class ForwardRunner
{
    private readonly TransformerModel _model;
    private readonly LowRankLogitLens _proxyLens;

    /// <summary>Creates a runner over <paramref name="model"/>.</summary>
    public ForwardRunner(TransformerModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _proxyLens = new LowRankLogitLens(model);
    }

    /// <summary>The model.</summary>
    public TransformerModel Model => _model;

    /// <summary>Runs one pass.</summary>
    public ForwardOutput Run(ForwardInput input)
    {
        Validate(input);
        bool routed = input.Plan is not null && !input.Plan.Policy.IsDense;
        if (routed && input.Cache is null)
        {
            // Routed passes need a cache even stand-alone: propagated K/V of halted tokens, packed K/V of quantized
            // tokens and skipped entries all live there. A temporary one holds this pass only.
            int t = input.TokenIds.Count, end = input.StartPosition + t;
            using var temporary = new KvCache(_model.Config, end, _model.Device, initialCapacity: t, storage: _model.KvCacheType) { Length = input.StartPosition };
            var result = RunRouted(input.WithCache(temporary));
            input.Stats.KvBytes = temporary.UsedBytes;
            input.Stats.DenseKvBytes = (long)t * temporary.DenseBytesPerToken;
            return result;
        }
        using var heap = PrefillHeap.Enter(input.TokenIds.Count); // a prefill's temporaries reuse heap blocks instead of fresh mmaps
        var output = routed ? TryRunRoutedRow(input) ?? RunRouted(input) : TryRunRow(input) ?? RunDense(input);
        RecordCache(input);
        return output;
    }

    /// <summary>Checks ids, context room and cache position before a pass changes anything.</summary>
    private void Validate(ForwardInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int t = input.TokenIds.Count;
        if (t == 0) throw new ArgumentException("A forward pass needs at least one token.", nameof(input));
        int vocab = _model.Config.VocabSize;
        foreach (int id in input.TokenIds)
            if ((uint)id >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(input), $"Token id {id} is outside the vocabulary (0..{vocab - 1}).");
        int end = input.StartPosition + t;
        int limit = input.Cache?.ContextLength ?? _model.Config.MaxPositions;
        if (end > limit) throw new Generation.ContextLengthExceededException(end, limit);
        if (input.Cache is { } c && c.Length != input.StartPosition)
            throw new InvalidOperationException($"The cache holds {c.Length} positions but the pass starts at {input.StartPosition}.");
    }

    /// <summary>After a pass: the cache now holds the pass's positions; its bytes go to the stats.</summary>
    private static void RecordCache(ForwardInput input)
    {
        if (input.Cache is not { } cache) return;
        cache.Length = input.StartPosition + input.TokenIds.Count;
        input.Stats.KvBytes = cache.UsedBytes;
        input.Stats.DenseKvBytes = cache.Length * cache.DenseBytesPerToken;
    }

    /// <summary>Dense logits for a batch of equal-length sequences (B, T) without a cache, positions 0..T−1.</summary>
    public torch.Tensor DenseBatchLogits(torch.Tensor ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        using var scope = torch.NewDisposeScope();
        long t = ids.shape[1];
        var positions = TensorScalars.Range(t, torch.int64, _model.Device);
        var h = _model.Embed(ids, positions);
        foreach (var block in _model.Blocks)
            h = block.Forward(new BlockInput { Hidden = h, Positions = positions, FirstPosition = 0 }).Hidden;
        return _model.Logits(h).MoveToOuterDisposeScope();
    }

    private ForwardOutput RunDense(ForwardInput input)
    {
        using var scope = torch.NewDisposeScope();
        int t = input.TokenIds.Count, start = input.StartPosition;
        var ids = torch.tensor(input.TokenIds.Select(i => (long)i).ToArray(), [1, t], torch.int64, _model.Device);
        var positions = TensorScalars.Range(start, start + t, torch.int64, _model.Device);
        var h = _model.Embed(ids, positions);
        for (int l = 0; l < _model.Blocks.Count; l++)
        {
            var cache = input.Cache?[l];
            var next = _model.Blocks[l].Forward(new BlockInput { Hidden = h, Positions = positions, FirstPosition = start, Cache = cache }).Hidden;
            // The layer input is consumed: free it now rather than when the pass ends (a prefill otherwise holds every layer's).
            if (!ReferenceEquals(next, h)) h.Dispose();
            h = next;
            input.Cache?.MarkWritten(l, start, t);
        }
        RecordDensePass(input);
        var logits = input.AllLogits ? _model.Logits(LogitRows(h, input)).squeeze(0) : _model.Logits(h.narrow(1, t - 1, 1)).squeeze(0);
        return new ForwardOutput
        {
            Logits = logits.MoveToOuterDisposeScope(),
            Hidden = input.ReturnHidden ? h.MoveToOuterDisposeScope() : null,
            Absorbed = new bool[t],
            DependsOnLater = new bool[t],
        };
    }

    /// <summary>The hidden rows (1, T − from, d) whose logits an all-logits pass returns (see <see cref="ForwardInput.LogitsFrom"/>).</summary>
    private static torch.Tensor LogitRows(torch.Tensor h, ForwardInput input)
    {
        int t = input.TokenIds.Count, from = Math.Clamp(input.LogitsFrom, 0, t - 1);
        return from == 0 ? h : h.narrow(1, from, t - from);
    }

    /// <summary>Work accounting of a dense pass: every token ran every block and wrote every K/V.</summary>
    private void RecordDensePass(ForwardInput input)
    {
        int t = input.TokenIds.Count, layers = _model.Blocks.Count;
        double before = input.Stats.DenseFlops;
        AddDenseFlops(input.Stats, t, input.StartPosition, actualToo: true);
        input.Stats.BetaWeightedFlops += input.Stats.DenseFlops - before; // full precision: β = 1
        for (int l = 0; l < layers; l++) input.Stats.AddActive(l, t);
        if (input.Trace is { } trace)
            for (int i = 0; i < t; i++) for (int l = 0; l < layers; l++) trace.KvWritten[i, l] = true;
        input.Stats.KvWrites += input.Cache is null ? 0 : (long)t * layers;
    }

    private void AddDenseFlops(RuntimeStats stats, int t, int start, bool actualToo)
    {
        // Attention pairs: query at position p sees p + 1 keys.
        double pairs = (double)t * start + (double)t * (t + 1) / 2;
        double flops = 0;
        foreach (var block in _model.Blocks) flops += t * block.ProjectionFlopsPerToken + pairs * block.AttentionFlopsPerQueryKey;
        stats.DenseFlops += flops;
        if (actualToo) stats.LayerFlops += flops;
    }
}
