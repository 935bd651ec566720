using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Runtime;

namespace QuickSilver.Engine.Models;

/// <summary>
/// The block on one token in host memory: the decode step without tensors. Same maths as <see cref="Forward"/> (pre-norm,
/// fused q|k|v, optional q/k norms, rotation, cache append, attention, output projection, MLP, optional post-norms), each
/// step a managed kernel or a packed product, so a step costs its arithmetic and memory traffic, not libtorch dispatch.
/// </summary>
public sealed partial class TransformerBlock
{
    /// <summary>Names of the decode row path's steps in <see cref="OpProfile"/>.</summary>
    internal const string ProfileNorms = "norms and residual adds", ProfileQkv = "q|k|v projection", ProfileRotary = "rotary, q/k norms, biases",
        ProfileAttention = "attention (cache append, scores, softmax, values)", ProfileOutput = "output projection", ProfileMlp = "MLP (gate|up, activation, down)";

    private int _rowSupport; // 0 unknown, 1 yes, 2 no
    private HostSpanCache _qkvBiasRow, _outBiasRow; // the biases' host spans, looked up once

    /// <summary>Whether every part can run on a host row (float32 host tensors, row-capable modules).</summary>
    internal bool SupportsRows
    {
        get
        {
            if (_rowSupport == 0) _rowSupport = ComputeRowSupport() ? 1 : 2;
            return _rowSupport == 1;
        }
    }

    private bool ComputeRowSupport()
    {
        static bool Norm(INormalization? n) => n is null || n is IRowNormalization { SupportsRows: true };
        static bool Bias(TorchSharp.torch.Tensor? b) => b is null || HostMemory.IsHostFloat32(b);
        return _attnNorm is IRowNormalization { SupportsRows: true } && _mlpNorm is IRowNormalization { SupportsRows: true }
            && Norm(_extras.QueryNorm) && Norm(_extras.KeyNorm) && Norm(_extras.PostAttentionNorm) && Norm(_extras.PostMlpNorm)
            && _rotation is IRowRotation { SupportsRows: true } && _mlp is IRowFeedForward { SupportsRows: true }
            && Bias(_qkvBias) && Bias(_outBias);
    }

    /// <summary>
    /// Runs the block on one token's hidden state <paramref name="hidden"/> (d, updated in place) at
    /// <paramref name="position"/>, appending its K/V to <paramref name="cache"/> and attending over everything cached.
    /// </summary>
    internal unsafe void ForwardRow(Span<float> hidden, long position, LayerKvCache cache)
    {
        int d = hidden.Length, qd = (int)_queryWidth, kvd = (int)_kvWidth;
        long start = OpProfile.Start();
        var normalized = RowBuffers.Get(RowBuffers.Normalized, d);
        ((IRowNormalization)_attnNorm).ApplyRow(hidden, normalized);
        OpProfile.Stop(ProfileNorms, start);

        start = OpProfile.Start();
        var qkv = RowBuffers.Get(RowBuffers.Qkv, qd + (2 * kvd));
        _qkv.ApplyRow(normalized, qkv);
        OpProfile.Stop(ProfileQkv, start);

        start = OpProfile.Start();
        if (_qkvBias is not null) RowOps.Add(qkv, _qkvBiasRow.Get(_qkvBias));
        var q = qkv[..qd];
        var k = qkv.Slice(qd, kvd);
        var v = qkv.Slice(qd + kvd, kvd);
        if (_extras.QueryNorm is IRowNormalization queryNorm) for (int h = 0; h < _heads; h++) queryNorm.ApplyRow(q.Slice(h * _headDim, _headDim), q.Slice(h * _headDim, _headDim));
        if (_extras.KeyNorm is IRowNormalization keyNorm) for (int h = 0; h < _kvHeads; h++) keyNorm.ApplyRow(k.Slice(h * _headDim, _headDim), k.Slice(h * _headDim, _headDim));
        var rotation = (IRowRotation)_rotation;
        rotation.RotateRow(q, _heads, _headDim, position);
        rotation.RotateRow(k, _kvHeads, _headDim, position);
        OpProfile.Stop(ProfileRotary, start);

        start = OpProfile.Start();
        var (keys, values, positions, count, capacity) = cache.AppendRow(k, v, position);
        var attended = RowBuffers.Get(RowBuffers.Attended, qd);
        var options = _extras.Attention;
        SingleQueryAttention.Attend(q, cache.Storage, (void*)keys, (void*)values, cache.IsContiguousPrefix ? null : (long*)positions, count, capacity,
            _heads, _kvHeads, _headDim, position, options.Scale ?? (1.0 / Math.Sqrt(_headDim)), options.Window, options.SoftCap, attended, KernelSettings.Threads);
        OpProfile.Stop(ProfileAttention, start);

        start = OpProfile.Start();
        var projected = RowBuffers.Get(RowBuffers.Projected, d);
        _out.ApplyRow(attended, projected);
        OpProfile.Stop(ProfileOutput, start);

        start = OpProfile.Start();
        if (_outBias is not null) RowOps.Add(projected, _outBiasRow.Get(_outBias));
        if (_extras.PostAttentionNorm is IRowNormalization postAttention) postAttention.ApplyRow(projected, projected);
        RowOps.Add(hidden, projected);
        ((IRowNormalization)_mlpNorm).ApplyRow(hidden, normalized);
        OpProfile.Stop(ProfileNorms, start);

        start = OpProfile.Start();
        ((IRowFeedForward)_mlp).ApplyRow(normalized, projected);
        OpProfile.Stop(ProfileMlp, start);

        start = OpProfile.Start();
        if (_extras.PostMlpNorm is IRowNormalization postMlp) postMlp.ApplyRow(projected, projected);
        RowOps.Add(hidden, projected);
        OpProfile.Stop(ProfileNorms, start);
    }
}
