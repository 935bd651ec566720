using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Runtime;

namespace QuickSilver.Engine.Models;

/// <summary>
/// The block on the decode rows of several sequences at once (continuous batching): the projections and the MLP run once
/// over all rows, so each weight is streamed once per step instead of once per sequence, while norms, rotation, the cache
/// append and attention run per row against that row's own sequence. Each row's result is bit-identical to
/// <see cref="ForwardRow"/> on that row alone (every kernel computes each row on its own).
/// </summary>
public sealed partial class TransformerBlock
{
    /// <summary>
    /// Runs the block on <paramref name="n"/> rows of <paramref name="hidden"/> (n × d, updated in place); row i is one token
    /// at <paramref name="positions"/>[i] of the sequence whose layer cache is <paramref name="caches"/>[i].
    /// </summary>
    internal unsafe void ForwardRows(Span<float> hidden, int n, ReadOnlySpan<long> positions, IReadOnlyList<LayerKvCache> caches)
    {
        int d = hidden.Length / n, qd = (int)_queryWidth, kvd = (int)_kvWidth, width = qd + (2 * kvd);
        long start = OpProfile.Start();
        var normalized = RowBuffers.Get(RowBuffers.Normalized, n * d); // (n, d)
        for (int i = 0; i < n; i++) ((IRowNormalization)_attnNorm).ApplyRow(hidden.Slice(i * d, d), normalized.Slice(i * d, d));
        OpProfile.Stop(ProfileNorms, start);

        start = OpProfile.Start();
        var qkv = RowBuffers.Get(RowBuffers.Qkv, n * width); // (n, q | k | v)
        _qkv.ApplyRows(normalized, n, qkv);
        OpProfile.Stop(ProfileQkv, start);

        var attended = RowBuffers.Get(RowBuffers.Attended, n * qd); // (n, q)
        var options = _extras.Attention;
        double scale = options.Scale ?? (1.0 / Math.Sqrt(_headDim));
        var rotation = (IRowRotation)_rotation;
        for (int i = 0; i < n; i++)
        {
            start = OpProfile.Start();
            var row = qkv.Slice(i * width, width);
            if (_qkvBias is not null) RowOps.Add(row, _qkvBiasRow.Get(_qkvBias));
            var q = row[..qd];
            var k = row.Slice(qd, kvd);
            var v = row.Slice(qd + kvd, kvd);
            if (_extras.QueryNorm is IRowNormalization queryNorm) for (int h = 0; h < _heads; h++) queryNorm.ApplyRow(q.Slice(h * _headDim, _headDim), q.Slice(h * _headDim, _headDim));
            if (_extras.KeyNorm is IRowNormalization keyNorm) for (int h = 0; h < _kvHeads; h++) keyNorm.ApplyRow(k.Slice(h * _headDim, _headDim), k.Slice(h * _headDim, _headDim));
            rotation.RotateRow(q, _heads, _headDim, positions[i]);
            rotation.RotateRow(k, _kvHeads, _headDim, positions[i]);
            OpProfile.Stop(ProfileRotary, start);

            start = OpProfile.Start();
            var cache = caches[i];
            var (keys, values, cached, count, capacity) = cache.AppendRow(k, v, positions[i]);
            SingleQueryAttention.Attend(q, cache.Storage, (void*)keys, (void*)values, cache.IsContiguousPrefix ? null : (long*)cached, count, capacity,
                _heads, _kvHeads, _headDim, positions[i], scale, options.Window, options.SoftCap, attended.Slice(i * qd, qd), KernelSettings.Threads);
            OpProfile.Stop(ProfileAttention, start);
        }

        start = OpProfile.Start();
        var projected = RowBuffers.Get(RowBuffers.Projected, n * d); // (n, d)
        _out.ApplyRows(attended, n, projected);
        OpProfile.Stop(ProfileOutput, start);

        start = OpProfile.Start();
        for (int i = 0; i < n; i++)
        {
            var p = projected.Slice(i * d, d);
            if (_outBias is not null) RowOps.Add(p, _outBiasRow.Get(_outBias));
            if (_extras.PostAttentionNorm is IRowNormalization postAttention) postAttention.ApplyRow(p, p);
            RowOps.Add(hidden.Slice(i * d, d), p);
            ((IRowNormalization)_mlpNorm).ApplyRow(hidden.Slice(i * d, d), normalized.Slice(i * d, d));
        }
        OpProfile.Stop(ProfileNorms, start);

        start = OpProfile.Start();
        ((IRowFeedForward)_mlp).ApplyRows(normalized, n, projected);
        OpProfile.Stop(ProfileMlp, start);

        start = OpProfile.Start();
        for (int i = 0; i < n; i++)
        {
            var p = projected.Slice(i * d, d);
            if (_extras.PostMlpNorm is IRowNormalization postMlp) postMlp.ApplyRow(p, p);
            RowOps.Add(hidden.Slice(i * d, d), p);
        }
        OpProfile.Stop(ProfileNorms, start);
    }
}
