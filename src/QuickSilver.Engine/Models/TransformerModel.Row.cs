using QuickSilver.Engine.Kernels;
using QuickSilver.Engine.Runtime;

namespace QuickSilver.Engine.Models;

/// <summary>Embedding lookup and head for one token in host memory: the ends of the decode row path.</summary>
public sealed partial class TransformerModel
{
    private int _rowSupport; // 0 unknown, 1 yes, 2 no
    private unsafe float* _rowEmbedding, _rowPositions;

    /// <summary>Whether a decode step can run on host rows: CPU weights, float32 tables, and every block and norm row-capable.</summary>
    internal bool SupportsRows
    {
        get
        {
            if (_rowSupport == 0) _rowSupport = ComputeRowSupport() ? 1 : 2;
            return _rowSupport == 1;
        }
    }

    private bool ComputeRowSupport() =>
        Device.type == TorchSharp.DeviceType.CPU
        && (_embedding is PackedLinearWeight || (_embedding is DenseLinearWeight dense && HostMemory.IsHostFloat32(dense.Weight)))
        && (_positionEmbedding is null || HostMemory.IsHostFloat32(_positionEmbedding))
        && FinalNorm is IRowNormalization { SupportsRows: true }
        && Blocks.All(b => b.SupportsRows);

    /// <summary>The embedding of <paramref name="id"/> at <paramref name="position"/> (times the embedding scale, plus learned positions) into <paramref name="hidden"/> (d).</summary>
    internal unsafe void EmbedRow(int id, long position, Span<float> hidden)
    {
        int d = Config.HiddenSize;
        if ((uint)id >= (uint)Config.VocabSize) throw new ArgumentOutOfRangeException(nameof(id), $"Token id {id} is outside the vocabulary (0..{Config.VocabSize - 1}).");
        long start = OpProfile.Start();
        if (_embedding is PackedLinearWeight packed) packed.DecodeRow(id, hidden);
        else
        {
            if (_rowEmbedding is null) _rowEmbedding = HostMemory.Floats(((DenseLinearWeight)_embedding).Weight);
            new ReadOnlySpan<float>(_rowEmbedding + ((long)id * d), d).CopyTo(hidden);
        }
        if (Config.EmbeddingScale != 1f) for (int i = 0; i < d; i++) hidden[i] *= Config.EmbeddingScale;
        if (_positionEmbedding is not null)
        {
            if ((ulong)position >= (ulong)Config.MaxPositions) throw new ArgumentOutOfRangeException(nameof(position), $"Position {position} is outside the {Config.MaxPositions} learned positions.");
            if (_rowPositions is null) _rowPositions = HostMemory.Floats(_positionEmbedding);
            RowOps.Add(hidden, new ReadOnlySpan<float>(_rowPositions + (position * d), d));
        }
        OpProfile.Stop("embedding", start);
    }

    /// <summary>Final norm, head and soft-cap of one hidden row (d) into <paramref name="logits"/> (V).</summary>
    internal void LogitsRow(ReadOnlySpan<float> hidden, Span<float> logits)
    {
        long start = OpProfile.Start();
        var normalized = RowBuffers.Get(RowBuffers.Normalized, hidden.Length);
        ((IRowNormalization)FinalNorm).ApplyRow(hidden, normalized);
        OpProfile.Stop(TransformerBlock.ProfileNorms, start);
        start = OpProfile.Start();
        using (WeightPrecision.ForHead()) _head.ApplyRow(normalized, logits);
        float cap = Config.FinalLogitSoftCap;
        if (cap > 0) RowOps.SoftCap(logits, cap);
        OpProfile.Stop("head", start);
    }

    /// <summary>Final norm, head and soft-cap of <paramref name="n"/> hidden rows (n × d) into <paramref name="logits"/> (n × V), the head read once for all rows.</summary>
    internal void LogitsRows(ReadOnlySpan<float> hidden, int n, Span<float> logits)
    {
        int d = hidden.Length / n, vocab = Config.VocabSize;
        long start = OpProfile.Start();
        var normalized = RowBuffers.Get(RowBuffers.Normalized, n * d); // (n, d)
        for (int i = 0; i < n; i++) ((IRowNormalization)FinalNorm).ApplyRow(hidden.Slice(i * d, d), normalized.Slice(i * d, d));
        OpProfile.Stop(TransformerBlock.ProfileNorms, start);
        start = OpProfile.Start();
        using (WeightPrecision.ForHead()) _head.ApplyRows(normalized, n, logits);
        float cap = Config.FinalLogitSoftCap;
        if (cap > 0) for (int i = 0; i < n; i++) RowOps.SoftCap(logits.Slice(i * vocab, vocab), cap);
        OpProfile.Stop("head", start);
    }
}
