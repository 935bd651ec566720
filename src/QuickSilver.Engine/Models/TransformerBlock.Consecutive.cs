using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Runtime;

namespace QuickSilver.Engine.Models;

/// <summary>
/// The block on a few consecutive tokens of one sequence in host memory: a short multi-token decode step (speculative verification,
/// jump-forward) at about the cost of one. Every weight is read once for all rows; everything else runs per row with the
/// single-row kernels, and row i attends over exactly the entries a one-token step at its position would see, so each row
/// is bit-identical to <see cref="ForwardRow"/> run token after token.
/// </summary>
public sealed partial class TransformerBlock
{
    /// <summary>
    /// Runs the block on <paramref name="count"/> tokens' hidden states <paramref name="hidden"/> (count × d, updated in place)
    /// at positions <paramref name="position"/>, position + 1, …, appending their K/V to <paramref name="cache"/>.
    /// </summary>
    internal unsafe void ForwardConsecutiveRows(Span<float> hidden, int count, long position, LayerKvCache cache)
    {
        int d = hidden.Length / count, qd = (int)_queryWidth, kvd = (int)_kvWidth, qkvWidth = qd + (2 * kvd);
        long start = OpProfile.Start();
        var normalized = RowBuffers.Get(RowBuffers.Normalized, count * d);
        var attnNorm = (IRowNormalization)_attnNorm;
        for (int n = 0; n < count; n++) attnNorm.ApplyRow(hidden.Slice(n * d, d), normalized.Slice(n * d, d));
        OpProfile.Stop(ProfileNorms, start);

        start = OpProfile.Start();
        var qkv = RowBuffers.Get(RowBuffers.Qkv, count * qkvWidth);
        _qkv.ApplyRows(normalized, count, qkv);
        OpProfile.Stop(ProfileQkv, start);

        start = OpProfile.Start();
        var rotation = (IRowRotation)_rotation;
        for (int n = 0; n < count; n++)
        {
            var row = qkv.Slice(n * qkvWidth, qkvWidth);
            if (_qkvBias is not null) RowOps.Add(row, HostMemory.Span(_qkvBias));
            var q = row[..qd];
            var k = row.Slice(qd, kvd);
            if (_extras.QueryNorm is IRowNormalization queryNorm) for (int h = 0; h < _heads; h++) queryNorm.ApplyRow(q.Slice(h * _headDim, _headDim), q.Slice(h * _headDim, _headDim));
            if (_extras.KeyNorm is IRowNormalization keyNorm) for (int h = 0; h < _kvHeads; h++) keyNorm.ApplyRow(k.Slice(h * _headDim, _headDim), k.Slice(h * _headDim, _headDim));
            rotation.RotateRow(q, _heads, _headDim, position + n);
            rotation.RotateRow(k, _kvHeads, _headDim, position + n);
        }
        OpProfile.Stop(ProfileRotary, start);

        start = OpProfile.Start();
        // Append every row first (the buffers may move while they grow), then attend: row n sees the entries up to its own,
        // exactly the count a one-token step at its position sees.
        (IntPtr Keys, IntPtr Values, IntPtr Positions, int Count, int Capacity) buffers = default;
        for (int n = 0; n < count; n++)
        {
            var row = qkv.Slice(n * qkvWidth, qkvWidth);
            buffers = cache.AppendRow(row.Slice(qd, kvd), row.Slice(qd + kvd, kvd), position + n);
        }
        int first = buffers.Count - count;
        var attended = RowBuffers.Get(RowBuffers.Attended, count * qd);
        var options = _extras.Attention;
        double scale = options.Scale ?? (1.0 / Math.Sqrt(_headDim));
        long* positions = cache.IsContiguousPrefix ? null : (long*)buffers.Positions;
        for (int n = 0; n < count; n++)
        {
            SingleQueryAttention.Attend(qkv.Slice(n * qkvWidth, qd), (float*)buffers.Keys, (float*)buffers.Values, positions, first + n + 1, buffers.Capacity,
                _heads, _kvHeads, _headDim, position + n, scale, options.Window, options.SoftCap, attended.Slice(n * qd, qd), KernelSettings.Threads);
        }
        OpProfile.Stop(ProfileAttention, start);

        start = OpProfile.Start();
        var projected = RowBuffers.Get(RowBuffers.Projected, count * d);
        _out.ApplyRows(attended, count, projected);
        OpProfile.Stop(ProfileOutput, start);

        start = OpProfile.Start();
        var mlpNorm = (IRowNormalization)_mlpNorm;
        for (int n = 0; n < count; n++)
        {
            var p = projected.Slice(n * d, d);
            var h = hidden.Slice(n * d, d);
            if (_outBias is not null) RowOps.Add(p, HostMemory.Span(_outBias));
            if (_extras.PostAttentionNorm is IRowNormalization postAttention) postAttention.ApplyRow(p, p);
            RowOps.Add(h, p);
            mlpNorm.ApplyRow(h, normalized.Slice(n * d, d));
        }
        OpProfile.Stop(ProfileNorms, start);

        start = OpProfile.Start();
        ((IRowFeedForward)_mlp).ApplyRows(normalized, count, projected);
        OpProfile.Stop(ProfileMlp, start);

        start = OpProfile.Start();
        for (int n = 0; n < count; n++)
        {
            var p = projected.Slice(n * d, d);
            if (_extras.PostMlpNorm is IRowNormalization postMlp) postMlp.ApplyRow(p, p);
            RowOps.Add(hidden.Slice(n * d, d), p);
        }
        OpProfile.Stop(ProfileNorms, start);
    }
}
