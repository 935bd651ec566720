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

    /// <summary>The step on host rows, or null when the pass is not a dense one-token step over a host cache the row path can run.</summary>
    private ForwardOutput? TryRunRow(ForwardInput input)
    {
        if (!DecodeRowPath || input.TokenIds.Count != 1 || input.Cache is not { } cache || input.ReturnHidden || !_model.SupportsRows) return null;
        int layers = _model.Blocks.Count;
        for (int l = 0; l < layers; l++) if (!cache[l].SupportsRows) return null;

        int start = input.StartPosition, d = _model.Config.HiddenSize;
        var hidden = RowBuffers.Get(RowBuffers.Model, d);
        _model.EmbedRow(input.TokenIds[0], start, hidden);
        for (int l = 0; l < layers; l++)
        {
            _model.Blocks[l].ForwardRow(hidden, start, cache[l]);
            cache.MarkWritten(l, start, 1);
        }
        var logits = torch.empty(1, _model.Config.VocabSize, torch.float32); // (1, V)
        _model.LogitsRow(hidden, HostMemory.Span(logits));

        double before = input.Stats.DenseFlops;
        AddDenseFlops(input.Stats, 1, start, actualToo: true);
        input.Stats.BetaWeightedFlops += input.Stats.DenseFlops - before; // full precision: β = 1
        for (int l = 0; l < layers; l++) input.Stats.AddActive(l, 1);
        if (input.Trace is { } trace) for (int l = 0; l < layers; l++) trace.KvWritten[0, l] = true;
        input.Stats.KvWrites += layers;
        return new ForwardOutput { Logits = logits, Absorbed = new bool[1], DependsOnLater = new bool[1] };
    }
}
