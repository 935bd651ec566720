using QuickSilver.Engine.Models;
using TorchSharp;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// The dense decode step on host rows: one token through embedding, blocks and head in managed kernels, with one tensor
/// made per step (the logits). A dense pass over one token with a cache does nothing else, and at that size libtorch's
/// per-call dispatch cost more than the arithmetic (issue 11, part 3).
/// </summary>
public sealed partial class ForwardRunner
{
    /// <summary>
    /// Whether dense one-token steps over a host cache run on host rows (default true). False sends them through the
    /// tensor path, e.g. to compare the two.
    /// </summary>
    public bool DecodeRowPath { get; set; } = true;

    /// <summary>
    /// Most tokens a multi-token step (speculative verification, jump-forward) may have to run on host rows. Below the GEMM
    /// switch (32 rows) a step takes the per-row decode kernels, so each of its rows equals a one-token step bit for bit.
    /// </summary>
    internal const int MaxRowTokens = 31;

    /// <summary>
    /// The step on host rows, or null when the pass is not a dense step over a host cache the row path can run: one token,
    /// or up to <see cref="MaxRowTokens"/> tokens whose logits rows are wanted (a decode step, not a prompt).
    /// </summary>
    private ForwardOutput? TryRunRow(ForwardInput input)
    {
        int count = input.TokenIds.Count;
        if (!DecodeRowPath || count > MaxRowTokens || (count > 1 && !input.AllLogits) || input.Cache is not { } cache || input.ReturnHidden || !_model.SupportsRows) return null;
        int layers = _model.Blocks.Count;
        for (int l = 0; l < layers; l++) if (!cache[l].SupportsRows) return null;

        int start = input.StartPosition, d = _model.Config.HiddenSize, vocab = _model.Config.VocabSize;
        torch.Tensor logits;
        if (count == 1)
        {
            var hidden = RowBuffers.Get(RowBuffers.Model, d);
            _model.EmbedRow(input.TokenIds[0], start, hidden);
            for (int l = 0; l < layers; l++)
            {
                _model.Blocks[l].ForwardRow(hidden, start, cache[l]);
                cache.MarkWritten(l, start, 1);
            }
            logits = torch.empty(1, vocab, torch.float32); // (1, V)
            _model.LogitsRow(hidden, HostMemory.Span(logits));
        }
        else
        {
            var hidden = RowBuffers.Get(RowBuffers.Model, count * d); // (count, d)
            var positions = new long[count];
            for (int n = 0; n < count; n++)
            {
                positions[n] = start + n;
                _model.EmbedRow(input.TokenIds[n], positions[n], hidden.Slice(n * d, d));
            }
            var caches = new LayerKvCache[count]; // every row of this sequence attends over its own layer cache
            for (int l = 0; l < layers; l++)
            {
                Array.Fill(caches, cache[l]);
                _model.Blocks[l].ForwardRows(hidden, count, positions, caches);
                cache.MarkWritten(l, start, count);
            }
            // Rows before LogitsFrom need no logits (forced tokens): the head, the widest product, skips them.
            int from = Math.Clamp(input.LogitsFrom, 0, count - 1);
            logits = torch.empty(count - from, vocab, torch.float32); // (rows, V)
            _model.LogitsRows(hidden[(from * d)..], count - from, HostMemory.Span(logits));
        }

        double before = input.Stats.DenseFlops;
        AddDenseFlops(input.Stats, count, start, actualToo: true);
        input.Stats.BetaWeightedFlops += input.Stats.DenseFlops - before; // full precision: β = 1
        for (int l = 0; l < layers; l++) input.Stats.AddActive(l, count);
        if (input.Trace is { } trace) for (int n = 0; n < count; n++) for (int l = 0; l < layers; l++) trace.KvWritten[n, l] = true;
        input.Stats.KvWrites += (long)layers * count;
        return new ForwardOutput { Logits = logits, Absorbed = new bool[count], DependsOnLater = new bool[count] };
    }
}
