using QuickSilver.Engine.Models;
using TorchSharp;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// The batched pass: the new tokens of several sequences run as one set of rows. At decode a step is memory-bound —
/// every weight is read once per product whatever the number of rows — so eight sequences cost little more than one.
/// </summary>
public sealed partial class ForwardRunner
{
    /// <summary>
    /// Runs one pass for each of several sequences, each with its own cache and start position (decode steps of one token,
    /// prefill chunks, verification runs of several tokens, in any mix). Dense one-token steps run together on host rows:
    /// every projection, the MLP and the head stream their weights once for all rows, while rotary positions, K/V writes and
    /// attention stay per sequence, and each output is bit-identical to <see cref="Run"/> on that input alone. Prefill
    /// chunks, verification runs and sequences under a routed (non-dense) policy run on their own through <see cref="Run"/>,
    /// so their kernels and routing decisions are exactly those of the sequence alone. Without the row path (another
    /// device), dense one-token steps share one tensor pass, equal to running alone up to float rounding.
    /// </summary>
    /// <returns>One output per input, in input order; the caller disposes them.</returns>
    /// <exception cref="ArgumentException">No inputs, an empty input, or two inputs share a cache.</exception>
    /// <exception cref="Generation.ContextLengthExceededException">A sequence would run past its cache's context length.</exception>
    public IReadOnlyList<ForwardOutput> RunBatch(IReadOnlyList<ForwardInput> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 0) throw new ArgumentException("A batch needs at least one sequence.", nameof(inputs));
        // Every input is checked before any cache changes, so a bad one cannot leave the others half-advanced.
        var caches = new HashSet<KvCache>(ReferenceEqualityComparer.Instance);
        foreach (var input in inputs)
        {
            Validate(input);
            if (input.Cache is { } cache && !caches.Add(cache))
                throw new ArgumentException("Two sequences of one batch share a K/V cache; each sequence needs its own.", nameof(inputs));
        }

        var outputs = new ForwardOutput?[inputs.Count];
        try
        {
            // Decode and verification rows (≤ MaxRowTokens per sequence) of many sequences share one pass on the per-row
            // kernels; a prefill chunk keeps its own call, so the kernel a sequence's rows take (decode or GEMM) depends on
            // its own segment, never on the batch.
            var rows = Enumerable.Range(0, inputs.Count).Where(i => CanRunRow(inputs[i])).ToArray();
            if (rows.Length > 1)
            {
                var results = RunRows(rows.Select(i => inputs[i]).ToArray());
                for (int j = 0; j < rows.Length; j++) outputs[rows[j]] = results[j];
            }
            // Without the row path (another device, 16-bit tables) dense one-token steps still share one tensor pass.
            var dense = Enumerable.Range(0, inputs.Count)
                .Where(i => outputs[i] is null && inputs[i].TokenIds.Count == 1 && (inputs[i].Plan is null || inputs[i].Plan!.Policy.IsDense)).ToArray();
            if (dense.Length > 1)
            {
                var results = RunDenseBatch(dense.Select(i => inputs[i]).ToArray());
                for (int j = 0; j < dense.Length; j++) outputs[dense[j]] = results[j];
            }
            for (int i = 0; i < inputs.Count; i++) outputs[i] ??= Run(inputs[i]);
        }
        catch
        {
            foreach (var output in outputs) output?.Dispose();
            throw;
        }
        return outputs!;
    }

    private ForwardOutput[] RunDenseBatch(ForwardInput[] inputs)
    {
        using var scope = torch.NewDisposeScope();
        var device = _model.Device;
        int count = inputs.Length, layers = _model.Blocks.Count;
        var offsets = new int[count];
        int rows = 0;
        for (int i = 0; i < count; i++) { offsets[i] = rows; rows += inputs[i].TokenIds.Count; }

        var ids = torch.tensor(inputs.SelectMany(x => x.TokenIds).Select(id => (long)id).ToArray(), [1, rows], torch.int64, device); // (1, N)
        var positions = inputs.Select(x => TensorScalars.Range(x.StartPosition, x.StartPosition + x.TokenIds.Count, torch.int64, device)).ToArray();
        var h = _model.Embed(ids, torch.cat(positions, 0)); // (1, N, d)
        for (int l = 0; l < layers; l++)
        {
            var slices = new SequenceSlice[count];
            for (int i = 0; i < count; i++)
            {
                slices[i] = new SequenceSlice
                {
                    Offset = offsets[i], Count = inputs[i].TokenIds.Count, Positions = positions[i],
                    FirstPosition = inputs[i].StartPosition, Cache = inputs[i].Cache?[l],
                };
            }
            h = _model.Blocks[l].ForwardBatch(h, slices);
            foreach (var input in inputs) input.Cache?.MarkWritten(l, input.StartPosition, input.TokenIds.Count);
        }

        // The head runs once over the rows whose logits are wanted: every row of an all-logits input, else its last row.
        var wanted = new List<long>(rows);
        var logitOffsets = new int[count];
        for (int i = 0; i < count; i++)
        {
            int t = inputs[i].TokenIds.Count;
            logitOffsets[i] = wanted.Count;
            if (inputs[i].AllLogits) for (int j = 0; j < t; j++) wanted.Add(offsets[i] + j);
            else wanted.Add(offsets[i] + t - 1);
        }
        var selected = wanted.Count == rows ? h : h.index_select(1, torch.tensor(wanted.ToArray(), torch.int64, device)); // (1, R, d)
        var logits = _model.Logits(selected).squeeze(0); // (R, V)

        var outputs = new ForwardOutput[count];
        for (int i = 0; i < count; i++)
        {
            var input = inputs[i];
            int t = input.TokenIds.Count;
            RecordDensePass(input);
            RecordCache(input);
            outputs[i] = new ForwardOutput
            {
                Logits = logits.narrow(0, logitOffsets[i], input.AllLogits ? t : 1).MoveToOuterDisposeScope(), // (T, V) or (1, V)
                Hidden = input.ReturnHidden ? h.narrow(1, offsets[i], t).MoveToOuterDisposeScope() : null, // (1, T, d)
                Absorbed = new bool[t],
                DependsOnLater = new bool[t],
            };
        }
        return outputs;
    }
}
