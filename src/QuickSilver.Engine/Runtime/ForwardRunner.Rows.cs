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
    /// <summary>
    /// Whether <paramref name="input"/> is a dense step the row path can run (the condition of <see cref="TryRunRow"/>): one
    /// token, or up to <see cref="MaxRowTokens"/> tokens whose logits rows are wanted (speculative verification, forced tokens).
    /// </summary>
    private bool CanRunRow(ForwardInput input)
    {
        int count = input.TokenIds.Count;
        if (!DecodeRowPath || count > MaxRowTokens || (count > 1 && !input.AllLogits)) return false;
        if (input.Cache is not { } cache || input.ReturnHidden || !_model.SupportsRows) return false;
        if (input.Plan is not null && !input.Plan.Policy.IsDense) return false;
        for (int l = 0; l < _model.Blocks.Count; l++) if (!cache[l].SupportsRows) return false;
        return true;
    }

    /// <summary>
    /// Runs the steps <paramref name="inputs"/> (all passing <see cref="CanRunRow"/>, distinct caches) as one set of rows: a
    /// sequence's segment is its consecutive tokens, each row at its own position against its own sequence's cache.
    /// </summary>
    private ForwardOutput[] RunRows(IReadOnlyList<ForwardInput> inputs)
    {
        int n = inputs.Count, layers = _model.Blocks.Count, d = _model.Config.HiddenSize, vocab = _model.Config.VocabSize;
        var first = new int[n + 1]; // segment i is rows [first[i], first[i + 1])
        for (int i = 0; i < n; i++) first[i + 1] = first[i] + inputs[i].TokenIds.Count;
        int rows = first[n];
        var hidden = RowBuffers.Get(RowBuffers.Model, rows * d); // (rows, d)
        var positions = new long[rows];
        for (int i = 0; i < n; i++)
        {
            for (int t = 0; t < inputs[i].TokenIds.Count; t++)
            {
                int r = first[i] + t;
                positions[r] = inputs[i].StartPosition + t;
                _model.EmbedRow(inputs[i].TokenIds[t], positions[r], hidden.Slice(r * d, d));
            }
        }
        var caches = new LayerKvCache[rows];
        for (int l = 0; l < layers; l++)
        {
            for (int i = 0; i < n; i++) for (int r = first[i]; r < first[i + 1]; r++) caches[r] = inputs[i].Cache![l];
            _model.Blocks[l].ForwardRows(hidden, rows, positions, caches);
            for (int i = 0; i < n; i++) inputs[i].Cache!.MarkWritten(l, inputs[i].StartPosition, inputs[i].TokenIds.Count);
        }

        // Only the rows whose logits are wanted go through the head (a one-token step's row; a multi-token step's rows from
        // LogitsFrom): gathered contiguously, each computed on its own.
        var wantedFrom = new int[n];
        var wantedStart = new int[n + 1];
        for (int i = 0; i < n; i++)
        {
            int count = inputs[i].TokenIds.Count;
            wantedFrom[i] = count == 1 ? 0 : Math.Clamp(inputs[i].LogitsFrom, 0, count - 1);
            wantedStart[i + 1] = wantedStart[i] + (count - wantedFrom[i]);
        }
        int wanted = wantedStart[n];
        var logits = new float[wanted * vocab];
        if (wanted == rows) _model.LogitsRows(hidden, rows, logits); // every row wanted (plain decode): no gather
        else
        {
            var gathered = new float[wanted * d]; // (wanted, d)
            for (int i = 0; i < n; i++)
            {
                int from = first[i] + wantedFrom[i], length = first[i + 1] - from;
                hidden.Slice(from * d, length * d).CopyTo(gathered.AsSpan(wantedStart[i] * d));
            }
            _model.LogitsRows(gathered, wanted, logits);
        }

        var outputs = new ForwardOutput[n];
        for (int i = 0; i < n; i++)
        {
            var input = inputs[i];
            int count = input.TokenIds.Count, kept = wantedStart[i + 1] - wantedStart[i];
            double before = input.Stats.DenseFlops;
            AddDenseFlops(input.Stats, count, input.StartPosition, actualToo: true);
            input.Stats.BetaWeightedFlops += input.Stats.DenseFlops - before; // full precision: β = 1
            for (int l = 0; l < layers; l++) input.Stats.AddActive(l, count);
            if (input.Trace is { } trace) for (int t = 0; t < count; t++) for (int l = 0; l < layers; l++) trace.KvWritten[t, l] = true;
            input.Stats.KvWrites += (long)layers * count;
            var row = torch.empty(kept, vocab, torch.float32); // (kept, V)
            logits.AsSpan(wantedStart[i] * vocab, kept * vocab).CopyTo(HostMemory.Span(row));
            outputs[i] = new ForwardOutput { Logits = row, Absorbed = new bool[count], DependsOnLater = new bool[count] };
            RecordCache(input);
        }
        return outputs;
    }
}
