using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using QuickSilver.Engine.Models;
using QuickSilver.Policies;
using TorchSharp;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// The routed decode step on host rows for policies whose only mechanism is the per-token precision (weight planes): one
/// token through the blocks on the row kernels, the decision-layer entropy read on host rows, the later blocks at the
/// token's width. On the tensor path such a step paid libtorch's per-op dispatch (~10 ms per token on the 374M model),
/// more than reading 4-bit planes saves (issue 11 part 4).
/// </summary>
public sealed partial class ForwardRunner
{
    [ThreadStatic] private static float[]? t_lensLogits;

    /// <summary>
    /// The step on host rows, or null when the pass is not a one-token step over a host cache under a policy that only
    /// assigns widths (no halting, fusion, packed K/V or activation rounding, which need the tensor path).
    /// </summary>
    private ForwardOutput? TryRunRoutedRow(ForwardInput input)
    {
        var plan = input.Plan!;
        var policy = plan.Policy;
        var q = policy.Quantization;
        if (!DecodeRowPath || input.TokenIds.Count != 1 || input.Cache is not { } cache || input.ReturnHidden || !_model.SupportsRows) return null;
        if (policy.Halting.Enabled || policy.Fusion.Enabled || !q.Enabled || q.QuantizeActivations || q.QuantizeKv) return null;
        int layers = _model.Blocks.Count;
        for (int l = 0; l < layers; l++) if (!cache[l].SupportsRows) return null;

        int start = input.StartPosition, d = _model.Config.HiddenSize, vocab = _model.Config.VocabSize;
        var stats = input.Stats;
        var trace = input.Trace;
        var flags = input.Flags ?? new TokenFlags(1);
        int[] bits = [BitAssignment.FullPrecision];
        int[] positions = [start];
        AddDenseFlops(stats, 1, start, actualToo: false);

        var hidden = RowBuffers.Get(RowBuffers.Model, d);
        _model.EmbedRow(input.TokenIds[0], start, hidden);
        for (int l = 0; l < layers; l++)
        {
            var block = _model.Blocks[l];
            // As on the tensor path: the blocks from the decision layer on read the planes of the token's width.
            using (WeightPrecision.Use(q.QuantizeWeights && l >= plan.DecisionLayer ? [bits[0]] : null))
                block.ForwardRow(hidden, start, cache[l]);
            cache.MarkWritten(l, start, 1);
            stats.AddActive(l, 1);
            stats.KvWrites++;
            double layerFlops = block.ProjectionFlopsPerToken + (cache.VisibleKeyPairs(l, positions) * block.AttentionFlopsPerQueryKey);
            stats.LayerFlops += layerFlops;
            stats.BetaWeightedFlops += layerFlops * FlopsBeta(bits[0]);
            if (trace is not null) trace.KvWritten[0, l] = true;
            if (plan.QuantizationDecision(l + 1))
            {
                bool uniform = q.LowBits == q.MidBits && q.MidBits == q.HighBits;
                float[] entropy = uniform ? new float[1] : DecisionEntropies(hidden, 1, stats);
                if (!uniform) stats.RouterHostSyncs++;
                BitAssignment.Assign(q, plan.LogVocab, entropy, [0], flags, start, cache, bits, stats);
            }
        }
        var logits = torch.empty(1, vocab, torch.float32); // (1, V)
        using (WeightPrecision.Use(null, q.QuantizeWeights && q.QuantizeHead ? bits : null))
            _model.LogitsRow(hidden, HostMemory.Span(logits));
        if (trace is not null) trace.Bits[0] = bits[0];
        return new ForwardOutput { Logits = logits, Absorbed = new bool[1], DependsOnLater = new bool[1] };
    }

    /// <summary>
    /// The decision-layer entropy in nats of each of <paramref name="n"/> hidden rows (n × d) on host rows: final norm,
    /// head and entropy by the row kernels, the head in calls of at most <see cref="MaxRowTokens"/> rows (the per-row
    /// kernels, so a row's logits do not depend on the other rows). Both paths take their decision from here, so the same
    /// hidden row gives the same entropy, hence the same width, whichever path computed the row (a full pass or a step).
    /// </summary>
    private float[] DecisionEntropies(ReadOnlySpan<float> hidden, int n, RuntimeStats stats)
    {
        int d = _model.Config.HiddenSize, vocab = _model.Config.VocabSize;
        var result = new float[n];
        int chunk = Math.Min(n, MaxRowTokens);
        var logits = t_lensLogits is { } cached && cached.Length >= chunk * vocab ? cached : t_lensLogits = new float[chunk * vocab];
        for (int from = 0; from < n; from += chunk)
        {
            int count = Math.Min(chunk, n - from);
            _model.LogitsRows(hidden.Slice(from * d, count * d), count, logits);
            for (int i = 0; i < count; i++) result[from + i] = Entropy(logits.AsSpan(i * vocab, vocab));
        }
        stats.RouterFlops += n * (_model.HeadFlopsPerToken + (5.0 * vocab) + (5.0 * d));
        return result;
    }

    /// <summary>The decision entropies of the rows of <paramref name="states"/> (1, n, d), via <see cref="DecisionEntropies(ReadOnlySpan{float}, int, RuntimeStats)"/>.</summary>
    private float[] DecisionEntropies(torch.Tensor states, RuntimeStats stats)
    {
        using var host = states.to(torch.float32).contiguous(); // (1, n, d)
        return DecisionEntropies(HostMemory.Span(host), (int)states.shape[1], stats);
    }

    /// <summary>
    /// Entropy in nats of softmax(<paramref name="logits"/>): log Σe^(x−m) − Σe^(x−m)(x−m) / Σe^(x−m), m the maximum, in a
    /// fixed order of float lanes (a function of the logits alone), finished in double.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float Entropy(ReadOnlySpan<float> logits)
    {
        float max = float.NegativeInfinity;
        foreach (float v in logits) if (v > max) max = v;
        if (!float.IsFinite(max)) return float.NaN;
        int n = logits.Length, i = 0;
        var vmax = Vector256.Create(max);
        Vector256<float> sums = Vector256<float>.Zero, weighted = Vector256<float>.Zero;
        ref float p = ref MemoryMarshal.GetReference(logits);
        for (; i + 8 <= n; i += 8)
        {
            var x = Vector256.LoadUnsafe(ref p, (nuint)i) - vmax;
            var e = Vector256.Exp(x);
            sums += e;
            // e·x is 0 where e underflowed (x may be −∞ there).
            weighted += Vector256.ConditionalSelect(Vector256.Equals(e, Vector256<float>.Zero), Vector256<float>.Zero, e * x);
        }
        double sum = Vector256.Sum(sums), dot = Vector256.Sum(weighted);
        for (; i < n; i++)
        {
            float x = logits[i] - max, e = MathF.Exp(x);
            sum += e;
            if (e != 0) dot += e * x;
        }
        return (float)(Math.Log(sum) - (dot / sum));
    }
}
