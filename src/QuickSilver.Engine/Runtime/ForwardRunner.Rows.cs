using QuickSilver.Engine.Models;
using TorchSharp;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// The batched decode step on host rows: one token of each of several sequences through embedding, blocks and head with
/// every weight streamed once for all rows. Each sequence's logits are bit-identical to its step alone
/// (<see cref="TryRunRow"/>), since every kernel computes each row on its own.
/// </summary>
public sealed partial class ForwardRunner
{
    /// <summary>Whether <paramref name="input"/> is a dense one-token step the row path can run (the condition of <see cref="TryRunRow"/>).</summary>
    private bool CanRunRow(ForwardInput input)
    {
        if (!DecodeRowPath || input.TokenIds.Count != 1 || input.Cache is not { } cache || input.ReturnHidden || !_model.SupportsRows) return false;
        if (input.Plan is not null && !input.Plan.Policy.IsDense) return false;
        for (int l = 0; l < _model.Blocks.Count; l++) if (!cache[l].SupportsRows) return false;
        return true;
    }

    /// <summary>Runs the one-token steps <paramref name="inputs"/> (all passing <see cref="CanRunRow"/>, distinct caches) as one set of rows.</summary>
    private ForwardOutput[] RunRows(IReadOnlyList<ForwardInput> inputs)
    {
        int n = inputs.Count, layers = _model.Blocks.Count, d = _model.Config.HiddenSize, vocab = _model.Config.VocabSize;
        var hidden = RowBuffers.Get(RowBuffers.Model, n * d); // (n, d)
        var positions = new long[n];
        for (int i = 0; i < n; i++)
        {
            positions[i] = inputs[i].StartPosition;
            _model.EmbedRow(inputs[i].TokenIds[0], positions[i], hidden.Slice(i * d, d));
        }
        var caches = new LayerKvCache[n];
        for (int l = 0; l < layers; l++)
        {
            for (int i = 0; i < n; i++) caches[i] = inputs[i].Cache![l];
            _model.Blocks[l].ForwardRows(hidden, n, positions, caches);
            for (int i = 0; i < n; i++) inputs[i].Cache!.MarkWritten(l, inputs[i].StartPosition, 1);
        }
        var logits = new float[n * vocab];
        _model.LogitsRows(hidden, n, logits);

        var outputs = new ForwardOutput[n];
        for (int i = 0; i < n; i++)
        {
            var input = inputs[i];
            double before = input.Stats.DenseFlops;
            AddDenseFlops(input.Stats, 1, input.StartPosition, actualToo: true);
            input.Stats.BetaWeightedFlops += input.Stats.DenseFlops - before; // full precision: β = 1
            for (int l = 0; l < layers; l++) input.Stats.AddActive(l, 1);
            if (input.Trace is { } trace) for (int l = 0; l < layers; l++) trace.KvWritten[0, l] = true;
            input.Stats.KvWrites += layers;
            var row = torch.empty(1, vocab, torch.float32); // (1, V)
            logits.AsSpan(i * vocab, vocab).CopyTo(HostMemory.Span(row));
            outputs[i] = new ForwardOutput { Logits = row, Absorbed = new bool[1], DependsOnLater = new bool[1] };
            RecordCache(input);
        }
        return outputs;
    }
}
