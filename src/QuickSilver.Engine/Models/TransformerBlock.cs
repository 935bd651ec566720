using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>
/// One pre-norm decoder block: h += post₁(o(attn(norm₁(h)))); h += post₂(mlp(norm₂(h))), where the post-norms are the
/// identity except in Gemma 2/3's sandwich, and q/k may be RMS-normalized per head before RoPE (Qwen3, Gemma 3).
/// Weights are fixed; per-sequence state (the K/V cache) comes in through <see cref="BlockInput"/>.
/// </summary>
public sealed partial class TransformerBlock : IDisposable
{
    private readonly INormalization _attnNorm;
    private readonly INormalization _mlpNorm;
    private readonly LinearWeight _qkv;       // (qd + 2·kvd, d)
    private readonly torch.Tensor? _qkvBias;  // (qd + 2·kvd)
    private readonly LinearWeight _kv;        // view: the k and v rows of _qkv, (2·kvd, d)
    private readonly torch.Tensor? _kvBias;
    private readonly LinearWeight _out;       // (d, qd)
    private readonly torch.Tensor? _outBias;
    private readonly IFeedForward _mlp;
    private readonly IPositionRotation _rotation;
    private readonly BlockExtras _extras;
    private readonly int _heads, _kvHeads, _headDim;
    private readonly long _queryWidth, _kvWidth;

    /// <summary>Creates the block from float projection tensors; it takes ownership of every tensor and module given (the rotation is shared and not disposed).</summary>
    /// <param name="extras">Attention options, q/k norms and post-norms; null for a plain pre-norm block.</param>
    public TransformerBlock(ModelConfig config, INormalization attnNorm, torch.Tensor query, torch.Tensor? queryBias,
        torch.Tensor key, torch.Tensor? keyBias, torch.Tensor value, torch.Tensor? valueBias,
        torch.Tensor output, torch.Tensor? outputBias, INormalization mlpNorm, IFeedForward mlp, IPositionRotation rotation,
        BlockExtras? extras = null)
        : this(config, attnNorm, new DenseLinearWeight(query), queryBias, new DenseLinearWeight(key), keyBias, new DenseLinearWeight(value), valueBias,
            new DenseLinearWeight(output), outputBias, mlpNorm, mlp, rotation, extras) { }

    /// <summary>Creates the block; it takes ownership of every weight, tensor and module given (the rotation is shared and not disposed).</summary>
    /// <param name="extras">Attention options, q/k norms and post-norms; null for a plain pre-norm block.</param>
    public TransformerBlock(ModelConfig config, INormalization attnNorm, LinearWeight query, torch.Tensor? queryBias,
        LinearWeight key, torch.Tensor? keyBias, LinearWeight value, torch.Tensor? valueBias,
        LinearWeight output, torch.Tensor? outputBias, INormalization mlpNorm, IFeedForward mlp, IPositionRotation rotation,
        BlockExtras? extras = null)
    {
        _extras = extras ?? new BlockExtras();
        ArgumentNullException.ThrowIfNull(config);
        (_heads, _kvHeads, _headDim) = (config.NumHeads, config.NumKvHeads, config.HeadDim);
        _queryWidth = (long)_heads * _headDim;
        _kvWidth = (long)_kvHeads * _headDim;
        _attnNorm = attnNorm;
        _mlpNorm = mlpNorm;
        _qkv = LinearWeight.Concat([query, key, value]);
        _qkvBias = queryBias is null ? null : torch.cat([queryBias, keyBias!, valueBias!], 0);
        queryBias?.Dispose(); keyBias?.Dispose(); valueBias?.Dispose();
        _kv = _qkv.Rows(_queryWidth, 2 * _kvWidth);
        _kvBias = _qkvBias?.narrow(0, _queryWidth, 2 * _kvWidth);
        (_out, _outBias, _mlp, _rotation) = (output, outputBias, mlp, rotation);
        int d = config.HiddenSize;
        ProjectionFlopsPerToken = 2.0 * d * (_queryWidth + 2 * _kvWidth) + 2.0 * _queryWidth * d + mlp.FlopsPerToken;
        KeyValueFlopsPerToken = 2.0 * d * 2 * _kvWidth + 4.0 * d;
        AttentionFlopsPerQueryKey = 2.0 * 2 * _queryWidth;
    }

    /// <summary>FLOPs per token for everything but the attention scores: q/k/v/o projections and the MLP.</summary>
    public double ProjectionFlopsPerToken { get; }

    /// <summary>FLOPs to compute one token's K/V from its hidden state (norm plus k and v projections): the propagation cost.</summary>
    public double KeyValueFlopsPerToken { get; }

    /// <summary>FLOPs per (query, key) pair: q·k and p·v over all heads.</summary>
    public double AttentionFlopsPerQueryKey { get; }

    /// <summary>The projection weights (q|k|v stacked, then the output), for memory and format reports.</summary>
    public IEnumerable<LinearWeight> ProjectionWeights => [_qkv, _out];

    /// <summary>Runs the block.</summary>
    public BlockOutput Forward(BlockInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var scope = torch.NewDisposeScope();
        var x = input.Hidden;
        torch.Tensor attended;
        torch.Tensor? maxAttention, keyPositions = null, queries = null, keys = null;
        // The projections, rotated q/k, the cache's float32 view and attention's temporaries are dead once attention is
        // done: free them before the MLP (a prefill's largest step) instead of holding them to the end of the block.
        using (var attention = torch.NewDisposeScope())
        {
            torch.Tensor q;
            AttendedKeys attendOver;
            if (input.Cache is null || input.NeedQueryKey)
            {
                (q, var k, var v) = Project(x, input.Positions);
                attendOver = WriteKeys(input, k, v);
                if (input.NeedQueryKey) (queries, keys) = (q.MoveToOuterDisposeScope(), k.MoveToOuterDisposeScope());
            }
            else
            {
                // With a cache, attention reads keys and values from it: q|k|v (T, qd + 2·kvd) and the normalized input
                // are dead once the cache is written, except q. Keep a copy of q and free them before attention runs, the
                // moment of a prefill's peak memory (all of the cache written, plus attention's own temporaries).
                using (var projection = torch.NewDisposeScope())
                {
                    var (projected, k, v) = Project(x, input.Positions);
                    attendOver = WriteKeys(input, k, v, readLater: true);
                    q = projected.contiguous().MoveToOuterDisposeScope();
                }
                attendOver = ReadKeys(input, attendOver);
            }
            (attended, maxAttention) = AttendOver(input, q, attendOver);
            attended.MoveToOuterDisposeScope();
            maxAttention?.MoveToOuterDisposeScope();
            if (input.NeedMaxAttention) keyPositions = attendOver.Positions.clone().MoveToOuterDisposeScope();
        }
        var h = Finish(x, attended);

        return new BlockOutput
        {
            Hidden = h.MoveToOuterDisposeScope(),
            MaxAttention = maxAttention?.MoveToOuterDisposeScope(),
            KeyPositions = keyPositions?.MoveToOuterDisposeScope(),
            Queries = queries?.MoveToOuterDisposeScope(),
            Keys = keys?.MoveToOuterDisposeScope(),
        };
    }

    /// <summary>
    /// Runs the block over the new rows of several sequences at once: <paramref name="hidden"/> (1, N, d) holds each
    /// sequence's rows back to back, as <paramref name="sequences"/> lays them out. Norms, projections and the MLP run once
    /// over all N rows (at decode, reading every weight once for the whole batch is the point); rotary positions, K/V
    /// writes and attention stay per sequence, each against its own cache. Each sequence's rows come out as
    /// <see cref="Forward"/> would give them for that sequence alone.
    /// </summary>
    /// <returns>The updated hidden states (1, N, d).</returns>
    /// <exception cref="ArgumentException">The slices do not tile the N rows in order.</exception>
    public torch.Tensor ForwardBatch(torch.Tensor hidden, IReadOnlyList<SequenceSlice> sequences)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(sequences);
        long n = hidden.shape[1];
        long next = 0;
        foreach (var s in sequences)
        {
            if (s.Offset != next || s.Count <= 0) throw new ArgumentException($"Sequence slices must tile the {n} rows in order; a slice starts at {s.Offset}, expected {next}.", nameof(sequences));
            next += s.Count;
        }
        if (hidden.shape[0] != 1 || next != n) throw new ArgumentException($"Hidden states (1, {n}, d) do not match slices covering {next} rows.", nameof(hidden));
        using var scope = torch.NewDisposeScope();
        var positions = sequences.Count == 1 ? sequences[0].Positions : torch.cat(sequences.Select(s => s.Positions).ToArray(), 0); // (N)
        torch.Tensor attended;
        using (var attention = torch.NewDisposeScope()) // as in Forward: attention's temporaries are freed before the MLP
        {
            var (q, k, v) = Project(hidden, positions); // (1, nh, N, hs), (1, nkv, N, hs) ×2
            var parts = new torch.Tensor[sequences.Count];
            for (int i = 0; i < sequences.Count; i++)
            {
                var s = sequences[i];
                var input = new BlockInput { Hidden = hidden, Positions = s.Positions, FirstPosition = s.FirstPosition, Cache = s.Cache };
                parts[i] = Attend(input, q.narrow(2, s.Offset, s.Count), k.narrow(2, s.Offset, s.Count), v.narrow(2, s.Offset, s.Count)).Output; // (1, nh, Ti, hs)
            }
            attended = (parts.Length == 1 ? parts[0] : torch.cat(parts, 2)).MoveToOuterDisposeScope(); // (1, nh, N, hs)
        }
        return Finish(hidden, attended).MoveToOuterDisposeScope();
    }

    /// <summary>Norm, q|k|v in one product, q/k norms and rotation: x (B, T, d) → q (B, nh, T, hs), k and v (B, nkv, T, hs).</summary>
    private (torch.Tensor Q, torch.Tensor K, torch.Tensor V) Project(torch.Tensor x, torch.Tensor positions)
    {
        long b = x.shape[0], t = x.shape[1];
        var normalized = _attnNorm.Apply(x);
        var qkv = _qkv.Apply(normalized, _qkvBias); // (B, T, qd + 2·kvd)
        if (!ReferenceEquals(normalized, x)) normalized.Dispose(); // a prefill's (T, d): dead, and the cache write comes next
        bool rotated = TryRotateHostRows(qkv, positions);
        var q = qkv.narrow(-1, 0, _queryWidth).view(b, t, _heads, _headDim); // (B, T, nh, hs)
        var k = qkv.narrow(-1, _queryWidth, _kvWidth).view(b, t, _kvHeads, _headDim); // (B, T, nkv, hs)
        var v = qkv.narrow(-1, _queryWidth + _kvWidth, _kvWidth).view(b, t, _kvHeads, _headDim); // (B, T, nkv, hs)
        if (!rotated)
        {
            q = _rotation.Apply(Normalize(_extras.QueryNorm, q), positions);
            k = _rotation.Apply(Normalize(_extras.KeyNorm, k), positions);
        }
        return (q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)); // q (B, nh, T, hs); k, v (B, nkv, T, hs)
    }

    /// <summary>
    /// q/k norms and rotation in place on host rows of q|k|v (B, T, qd + 2·kvd), row by row with the row path's kernels
    /// (a prefill: no libtorch temporaries, and each row gets what a decode step would give it); false when the tensors,
    /// positions or modules are not host float32/int64 row-capable, and the caller takes the tensor ops.
    /// </summary>
    private unsafe bool TryRotateHostRows(torch.Tensor qkv, torch.Tensor positions)
    {
        if (qkv.requires_grad || !Runtime.HostMemory.IsHostFloat32(qkv) || _rotation is not IRowRotation { SupportsRows: true } rotation) return false;
        if (positions.device_type != DeviceType.CPU || positions.dtype != torch.ScalarType.Int64 || !positions.is_contiguous()) return false;
        if (_extras.QueryNorm is { } qn && qn is not IRowNormalization { SupportsRows: true }) return false;
        if (_extras.KeyNorm is { } kn && kn is not IRowNormalization { SupportsRows: true }) return false;
        int width = (int)qkv.shape[^1], qd = (int)_queryWidth, kvd = (int)_kvWidth, t = (int)positions.shape[0];
        long rows = qkv.NumberOfElements / width;
        if (width != qd + (2 * kvd) || rows % Math.Max(1, t) != 0) return false;
        float* p = Runtime.HostMemory.Floats(qkv);
        long* at = t == 0 ? null : Runtime.HostMemory.Longs(positions);
        var queryNorm = _extras.QueryNorm as IRowNormalization;
        var keyNorm = _extras.KeyNorm as IRowNormalization;
        for (long r = 0; r < rows; r++)
        {
            var row = new Span<float>(p + (r * width), width);
            var q = row[..qd];
            var k = row.Slice(qd, kvd);
            if (queryNorm is not null) for (int h = 0; h < _heads; h++) queryNorm.ApplyRow(q.Slice(h * _headDim, _headDim), q.Slice(h * _headDim, _headDim));
            if (keyNorm is not null) for (int h = 0; h < _kvHeads; h++) keyNorm.ApplyRow(k.Slice(h * _headDim, _headDim), k.Slice(h * _headDim, _headDim));
            long position = at[r % t];
            rotation.RotateRow(q, _heads, _headDim, position);
            rotation.RotateRow(k, _kvHeads, _headDim, position);
        }
        return true;
    }

    /// <summary>One sequence's K/V write and attention: q (B, nh, T, hs), k and v (B, nkv, T, hs) → (B, nh, T, hs).</summary>
    private (torch.Tensor Output, torch.Tensor? MaxAttention, torch.Tensor KeyPositions) Attend(BlockInput input, torch.Tensor q, torch.Tensor k, torch.Tensor v)
    {
        var keys = WriteKeys(input, k, v);
        var (output, maxAttention) = AttendOver(input, q, keys);
        return (output, maxAttention, keys.Positions);
    }

    /// <summary>What a sequence's queries attend over once its new K/V are written: keys, values (B, nkv, Nk, hs), their positions (Nk) and the mask shortcuts.</summary>
    private readonly record struct AttendedKeys(torch.Tensor Keys, torch.Tensor Values, torch.Tensor Positions, bool CausalSquare, bool SeesAllKeys);

    /// <summary>Writes k and v (B, nkv, T, hs) of <paramref name="input"/>'s tokens (and its propagated ones) to its cache, if any, and returns what its queries attend over.</summary>
    /// <param name="readLater">
    /// Write only: the returned keys, values and positions are null, and the caller reads them with <see cref="ReadKeys"/>
    /// once it has freed what it no longer needs (a 16-bit cache's read is a widened copy of every entry).
    /// </param>
    private AttendedKeys WriteKeys(BlockInput input, torch.Tensor k, torch.Tensor v, bool readLater = false)
    {
        long t = k.shape[2];
        if (input.Cache is not { } cache) return new AttendedKeys(k, v, input.Positions, input.FirstPosition is not null, t == 1);
        int? first = input.FirstPosition;
        var writeK = k; var writeV = v; var writePositions = input.Positions;
        if (input.PropagatedHidden is { } frozen)
        {
            var (pk, pv) = ProjectKeyValues(frozen, input.PropagatedPositions!);
            writeK = torch.cat([k, pk], 2);
            writeV = torch.cat([v, pv], 2);
            writePositions = torch.cat([input.Positions, input.PropagatedPositions!], 0);
            first = null;
        }
        bool wasEmpty = cache.Count == 0;
        cache.Append(writeK, writeV, writePositions, first, input.KvBits);
        var (keys, values, keyPositions) = readLater ? (null!, null!, null!) : cache.View();
        // Keys are exactly the queries, in the same (ascending) order: "key position ≤ query position" is the causal
        // mask in index space, whether or not the positions are consecutive (a routed layer's active tokens).
        bool causalSquare = wasEmpty && input.PropagatedHidden is null && (input.KvBits is null || input.KvBits.All(b => b >= 32));
        // One query sees every cached key: tokens run in position order and a prefix reuse truncates
        // the cache first, so nothing later than the newest position is ever in it. Not so when halted tokens
        // write K/V in this same call: a routed pass may have a single active token and later halted ones.
        bool seesAllKeys = t == 1 && input.PropagatedHidden is null;
        return new AttendedKeys(keys, values, keyPositions, causalSquare, seesAllKeys);
    }

    /// <summary>The cache's entries for keys written with <see cref="WriteKeys"/>'s readLater.</summary>
    private static AttendedKeys ReadKeys(BlockInput input, AttendedKeys written)
    {
        var (keys, values, positions) = input.Cache!.View();
        return written with { Keys = keys, Values = values, Positions = positions };
    }

    /// <summary>Attention of q (B, nh, T, hs) over <paramref name="keys"/> → (B, nh, T, hs), with the running maximum when the input asks for it.</summary>
    private (torch.Tensor Output, torch.Tensor? MaxAttention) AttendOver(BlockInput input, torch.Tensor q, AttendedKeys keys)
    {
        if (input.NeedMaxAttention)
        {
            var (output, maxAttention) = Attention.ForwardWithMaxAttention(q, keys.Keys, keys.Values, input.Positions, keys.Positions, _extras.Attention, keys.CausalSquare, keys.SeesAllKeys);
            return (output, maxAttention);
        }
        return (Attention.Forward(q, keys.Keys, keys.Values, input.Positions, keys.Positions, keys.CausalSquare, keys.SeesAllKeys, _extras.Attention), null);
    }

    /// <summary>Output projection, residual, MLP and residual: x (B, T, d) and attended (B, nh, T, hs), which it disposes, → (B, T, d).</summary>
    private torch.Tensor Finish(torch.Tensor x, torch.Tensor attended)
    {
        long b = x.shape[0], t = x.shape[1];
        torch.Tensor h;
        using (var projection = torch.NewDisposeScope()) // merged heads and the projection are dead before the MLP
        {
            var merged = attended.transpose(1, 2).reshape(b, t, _queryWidth); // (B, T, nh·hs)
            attended.Dispose(); // consumed by merged (a copy, or a view that keeps its storage alive)
            h = TensorScalars.Sum(x, Normalize(_extras.PostAttentionNorm, _out.Apply(merged, _outBias))).MoveToOuterDisposeScope();
        }
        return TensorScalars.Sum(h, Normalize(_extras.PostMlpNorm, _mlp.Apply(_mlpNorm.Apply(h))));
    }

    /// <summary>K/V (1, nkv, Tp, hs) of frozen hidden states (1, Tp, d): CALM-style propagation for halted tokens.</summary>
    public (torch.Tensor Keys, torch.Tensor Values) ProjectKeyValues(torch.Tensor hidden, torch.Tensor positions)
    {
        using var scope = torch.NewDisposeScope();
        using var fullWidth = Runtime.WeightPrecision.Use(null); // frozen rows of halted tokens, not the active rows a scope describes
        long b = hidden.shape[0], t = hidden.shape[1];
        var kv = _kv.Apply(_attnNorm.Apply(hidden), _kvBias); // (1, Tp, 2·kvd)
        var k = kv.narrow(-1, 0, _kvWidth).view(b, t, _kvHeads, _headDim); // (1, Tp, nkv, hs)
        var v = kv.narrow(-1, _kvWidth, _kvWidth).view(b, t, _kvHeads, _headDim);
        k = _rotation.Apply(Normalize(_extras.KeyNorm, k), positions).transpose(1, 2); // (1, nkv, Tp, hs)
        return (k.MoveToOuterDisposeScope(), v.transpose(1, 2).MoveToOuterDisposeScope());
    }

    private static torch.Tensor Normalize(INormalization? norm, torch.Tensor x) => norm is null ? x : norm.Apply(x);

    /// <inheritdoc />
    public void Dispose()
    {
        _attnNorm.Dispose(); _mlpNorm.Dispose();
        _extras.QueryNorm?.Dispose(); _extras.KeyNorm?.Dispose();
        _extras.PostAttentionNorm?.Dispose(); _extras.PostMlpNorm?.Dispose();
        _kv.Dispose(); _kvBias?.Dispose();
        _qkv.Dispose(); _qkvBias?.Dispose();
        _out.Dispose(); _outBias?.Dispose();
        _mlp.Dispose();
    }
}
