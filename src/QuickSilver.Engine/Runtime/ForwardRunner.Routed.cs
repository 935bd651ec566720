using QuickSilver.Engine.Models;
using QuickSilver.Policies;
using TorchSharp;

namespace QuickSilver.Engine.Runtime;

// The routed pass on tensors: each block runs only on the gathered active tokens, then the halting, K/V-skip, fusion and
// precision decisions of the plan are taken on what the block produced.
public sealed partial class ForwardRunner
{
    private ForwardOutput RunRouted(ForwardInput input)
    {
        using var scope = torch.NewDisposeScope();
        var plan = input.Plan!;
        var policy = plan.Policy;
        var stats = input.Stats;
        var trace = input.Trace;
        int t = input.TokenIds.Count, start = input.StartPosition, layers = _model.Blocks.Count;
        int width = _model.Config.HiddenSize, vocab = _model.Config.VocabSize;
        var flags = input.Flags ?? new TokenFlags(t);
        var device = _model.Device;

        var ids = torch.tensor(input.TokenIds.Select(i => (long)i).ToArray(), [1, t], torch.int64, device);
        var positions = TensorScalars.Range(start, start + t, torch.int64, device);
        var h = _model.Embed(ids, positions); // (1, T, d): master copy; halted and absorbed tokens stay frozen here

        var active = Enumerable.Range(0, t).ToList();  // local indices still running, in position order
        var haltedAt = Enumerable.Repeat(-1, t).ToArray();
        var absorbed = new bool[t];
        var dependsOnLater = new bool[t];               // positions whose state depends on a later token of this pass
        var propagateUntil = new int[t];                // layer index (exclusive) until which a halted token still writes K/V
        var bits = Enumerable.Repeat(32, t).ToArray();  // 32 = full precision
        var similarity = policy.Fusion.Enabled && policy.Fusion.AttentionSimilarityThreshold is not null
            ? new AttentionSimilarity(t, policy.Fusion.AttentionWindow) : null;
        torch.Tensor activeIdx = TensorScalars.Range(t, torch.int64, device);
        bool activeChanged = false;
        AddDenseFlops(stats, t, start, actualToo: false);

        for (int l = 0; l < layers; l++)
        {
            var block = _model.Blocks[l];
            int ta = active.Count;
            // Tokens that ran no block at this layer.
            int halted = 0, fused = 0;
            for (int i = 0; i < t; i++) { if (absorbed[i]) fused++; else if (haltedAt[i] >= 0) halted++; }
            stats.HaltedTokenLayers += halted;
            stats.FusedTokenLayers += fused;
            var propagated = new List<int>();
            for (int i = 0; i < t; i++)
                if (haltedAt[i] >= 0 && !absorbed[i] && l < propagateUntil[i]) propagated.Add(i);
            stats.SkippedKvWrites += halted + fused - propagated.Count;
            if (ta == 0)
            {
                stats.AddActive(l, 0);
                if (propagated.Count > 0) WritePropagatedOnly(input.Cache, l, block, h, propagated, start, stats, trace);
                continue;
            }

            if (activeChanged)
            {
                activeIdx = torch.tensor(active.Select(i => (long)i).ToArray(), torch.int64, device);
                activeChanged = false;
            }
            bool allActive = ta == t;
            var xa = allActive ? h : h.index_select(1, activeIdx); // (1, Ta, d)
            if (policy.Quantization.Enabled && policy.Quantization.QuantizeActivations && l >= plan.DecisionLayer)
                xa = QuantizeRows(xa, active, bits, policy.Quantization.GroupSize);
            var posA = allActive ? positions : positions.index_select(0, activeIdx);
            int? first = IsConsecutive(active) ? start + active[0] : null;

            torch.Tensor? propHidden = null, propPositions = null;
            if (propagated.Count > 0)
            {
                var pidx = torch.tensor(propagated.Select(i => (long)i).ToArray(), torch.int64, device);
                propHidden = h.index_select(1, pidx);
                propPositions = positions.index_select(0, pidx);
                stats.RouterFlops += propagated.Count * block.KeyValueFlopsPerToken;
                stats.PropagatedKvWrites += propagated.Count;
            }

            int blocksDone = l + 1;
            bool lastLayer = blocksDone == layers;
            bool haltingNow = !lastLayer && plan.HaltingEligible(blocksDone);
            bool needMaxAttention = (haltingNow && policy.KvSkip.Enabled && policy.KvSkip.Mode == KvSkipMode.Skip && policy.KvSkip.AttentionThreshold is not null)
                || (policy.Fusion.Weighting == FusionWeighting.Attention && plan.FusionEligible(blocksDone, layers));
            IReadOnlyList<int>? kvBits = policy.Quantization.Enabled && policy.Quantization.QuantizeKv && l >= plan.DecisionLayer
                ? active.Concat(propagated).Select(i => bits[i]).ToArray()
                : null;
            bool needQueryKey = policy.Fusion.Enabled && policy.Fusion.AttentionSimilarityThreshold is not null;
            // Each active row reads the weight planes of its width (causal: bits[i] came from positions ≤ i).
            int[]? rowBits = policy.Quantization.Enabled && policy.Quantization.QuantizeWeights && l >= plan.DecisionLayer
                ? active.Select(i => bits[i]).ToArray()
                : null;
            BlockOutput result;
            using (WeightPrecision.Use(rowBits))
            {
                result = block.Forward(new BlockInput
                {
                    Hidden = xa, Positions = posA, FirstPosition = first, Cache = input.Cache?[l], KvBits = kvBits, NeedQueryKey = needQueryKey,
                    PropagatedHidden = propHidden, PropagatedPositions = propPositions, NeedMaxAttention = needMaxAttention,
                });
            }
            var newA = result.Hidden; // (1, Ta, d)

            // Work accounting: projections for the active tokens, attention pairs each active query really sees.
            stats.AddActive(l, ta);
            stats.KvWrites += input.Cache is null ? 0 : ta + propagated.Count;
            input.Cache?.MarkWritten(l, active.Concat(propagated).Select(i => start + i));
            double pairs = input.Cache is { } kv ? kv.VisibleKeyPairs(l, active.Select(i => start + i)) : ActiveOnlyPairs(active);
            double layerFlops = ta * block.ProjectionFlopsPerToken + pairs * block.AttentionFlopsPerQueryKey;
            stats.LayerFlops += layerFlops;
            // The paper's J formula: each token's share weighted by β of its bits (8 → 1, 4 → 0.5, 2 → 0.25; full precision 1).
            stats.BetaWeightedFlops += layerFlops * active.Average(i => FlopsBeta(bits[i]));
            if (trace is not null) { foreach (int i in active) trace.KvWritten[i, l] = true; foreach (int i in propagated) trace.KvWritten[i, l] = true; }

            // ---- Decisions after this block: halt first, then fuse, else continue (paper 2.4, I.4). ----
            var haltNow = new bool[ta];
            if (haltingNow)
                DecideHalting(plan, xa, newA, active, flags, haltNow, stats, trace, l);

            if (needQueryKey) similarity!.Accumulate(result.Queries!, result.Keys!, active, stats);
            var fusePairs = new List<(int Earlier, int Later)>(); // indices into `active`
            if (plan.FusionEligible(blocksDone, layers))
                FusionPairing.Decide(policy.Fusion, newA, active, flags, haltNow, fusePairs, similarity, stats);

            if (allActive) h = newA; else h.index_copy_(1, activeIdx, newA);
            if (fusePairs.Count > 0) MergeIntoSuperTokens(policy.Fusion, h, newA, active, fusePairs, result, start, stats);

            if (plan.QuantizationDecision(blocksDone))
                AssignBits(plan, newA, active, flags, bits, start, input.Cache, stats);

            // ---- Update the host-side bookkeeping for the next layer. ----
            float[]? maxAttention = null;
            long[]? keyPositions = null;
            if (needMaxAttention && haltNow.Any(x => x))
            {
                maxAttention = result.MaxAttention!.squeeze(0).data<float>().ToArray(); // (Ta·Nk) host sync: τ_kv test for the halted tokens
                keyPositions = result.KeyPositions!.data<long>().ToArray();
                stats.RouterHostSyncs++;
            }
            var next = new List<int>(ta);
            for (int j = 0; j < ta; j++)
            {
                int i = active[j];
                if (haltNow[j])
                {
                    haltedAt[i] = blocksDone;
                    propagateUntil[i] = KvWriteHorizon(policy.KvSkip, blocksDone, layers, flags, i, start + i, j, maxAttention, keyPositions);
                    if (trace is not null) trace.HaltLayer[i] = blocksDone;
                }
                else next.Add(i);
            }
            foreach (var (earlier, later) in fusePairs)
            {
                int e = active[earlier];
                absorbed[e] = true;
                next.Remove(e);
                stats.FusedTokens++;
                if (trace is not null) { trace.FusedInto[e] = active[later]; trace.FusionLayer[e] = blocksDone; }
                // A non-adjacent pair removes e's K/V from deeper layers for the tokens between e and the later member too:
                // their states now depend on a later token, so a teacher-forced score must come from their own prefix.
                for (int between = e + 1; between < active[later]; between++) dependsOnLater[between] = true;
            }
            if (next.Count != ta) { active = next; activeChanged = true; }
        }

        int logitsFrom = input.AllLogits ? Math.Clamp(input.LogitsFrom, 0, t - 1) : t - 1;
        var q = policy.Quantization;
        // The head reads each logits row at its token's width only when the policy asks (it is outside the paper's decision).
        int[]? headBits = q.Enabled && q.QuantizeWeights && q.QuantizeHead ? bits[logitsFrom..] : null;
        torch.Tensor logits;
        using (WeightPrecision.Use(null, headBits))
            logits = input.AllLogits ? _model.Logits(LogitRows(h, input)).squeeze(0) : _model.Logits(h.narrow(1, t - 1, 1)).squeeze(0);
        if (trace is not null) for (int i = 0; i < t; i++) trace.Bits[i] = bits[i];
        return new ForwardOutput
        {
            Logits = logits.MoveToOuterDisposeScope(),
            Hidden = input.ReturnHidden ? h.MoveToOuterDisposeScope() : null,
            Absorbed = absorbed,
            DependsOnLater = absorbed.Select((a, i) => a || dependsOnLater[i]).ToArray(),
        };
    }

    private static double FlopsBeta(int bits) => bits switch { 4 => 0.5, 2 => 0.25, _ => 1.0 };

    private static bool IsConsecutive(List<int> active) => active.Count > 0 && active[^1] - active[0] == active.Count - 1;

    private static double ActiveOnlyPairs(List<int> active)
    {
        double pairs = 0;
        for (int j = 0; j < active.Count; j++) pairs += j + 1;
        return pairs;
    }

    private void WritePropagatedOnly(KvCache? cache, int layer, TransformerBlock block, torch.Tensor h, List<int> propagated, int start, RuntimeStats stats, TokenTrace? trace)
    {
        if (cache is null) return;
        using var scope = torch.NewDisposeScope();
        var pidx = torch.tensor(propagated.Select(i => (long)i).ToArray(), torch.int64, _model.Device);
        var positions = torch.tensor(propagated.Select(i => (long)(start + i)).ToArray(), torch.int64, _model.Device);
        var (k, v) = block.ProjectKeyValues(h.index_select(1, pidx), positions);
        cache[layer].Update(k, v, positions, null);
        cache.MarkWritten(layer, propagated.Select(i => start + i));
        stats.RouterFlops += propagated.Count * block.KeyValueFlopsPerToken;
        stats.PropagatedKvWrites += propagated.Count;
        stats.KvWrites += propagated.Count;
        if (trace is not null) foreach (int i in propagated) trace.KvWritten[i, layer] = true;
    }

    /// <summary>Layer index (exclusive) until which a token halted after <paramref name="blocksDone"/> blocks keeps writing K/V.</summary>
    private static int KvWriteHorizon(KvSkipPolicy kv, int blocksDone, int layers, TokenFlags flags, int local, long position, int queryRow, float[]? maxAttention, long[]? keyPositions)
    {
        // Propagate everywhere: skipping off, propagation mode, or the token's K/V are force-retained (paper 2.2).
        if (!kv.Enabled || kv.Mode == KvSkipMode.Propagate || flags.FullProcessing[local] || flags.RetainKv[local]) return layers;
        if (kv.AttentionThreshold is float tau && maxAttention is not null && keyPositions is not null)
        {
            // C.2/C.4: skip only when no head gave this token attention above τ_kv at its halting layer, from any query up
            // to its own. Later queries would make the choice depend on later tokens (issue 13), and decoding never has them;
            // since no earlier query sees this key, this is the attention the token gives itself.
            float received = 0;
            int nk = keyPositions.Length, row = queryRow * nk;
            for (int k = 0; k < nk; k++) if (keyPositions[k] == position) received = Math.Max(received, maxAttention[row + k]);
            if (received >= tau) return layers;
        }
        return Math.Min(layers, blocksDone + kv.HaltingDelay);
    }

    private void DecideHalting(RoutingPlan plan, torch.Tensor before, torch.Tensor after, List<int> active, TokenFlags flags, bool[] haltNow, RuntimeStats stats, TokenTrace? trace, int layer)
    {
        var halting = plan.Policy.Halting;
        using var scope = torch.NewDisposeScope();
        int ta = active.Count, width = _model.Config.HiddenSize;
        var drift = (after - before).norm(-1, false).squeeze(0); // (Ta)
        stats.RouterFlops += 3.0 * width * ta;
        if (halting.DriftMode == DriftMode.Relative)
        {
            drift = drift / TensorScalars.ClampedMin(before.norm(-1, false).squeeze(0), 1e-12);
            stats.RouterFlops += 2.0 * width * ta;
        }
        var driftOk = TensorScalars.Below(drift, (double)halting.DriftThreshold);

        float[] entropy = new float[ta];
        Array.Fill(entropy, float.NaN);
        bool[] candidates;
        switch (halting.EntropyMode)
        {
            case EntropySignalMode.DriftGated:
            {
                var passing = driftOk.data<bool>().ToArray(); // host sync: which tokens need an entropy read
                stats.RouterHostSyncs++;
                var idx = Enumerable.Range(0, ta).Where(j => passing[j] && !flags.FullProcessing[active[j]]).ToArray();
                if (idx.Length > 0)
                {
                    var sel = after.index_select(1, torch.tensor(idx.Select(j => (long)j).ToArray(), torch.int64, _model.Device));
                    var ent = ExactEntropy(sel, stats).data<float>().ToArray();
                    stats.RouterHostSyncs++;
                    for (int n = 0; n < idx.Length; n++) entropy[idx[n]] = ent[n];
                }
                candidates = passing;
                break;
            }
            case EntropySignalMode.Proxy:
            {
                entropy = _proxyLens.Entropy(after, halting.ProxyTopK, stats).data<float>().ToArray();
                candidates = driftOk.data<bool>().ToArray();
                stats.RouterHostSyncs++;
                break;
            }
            default:
            {
                entropy = ExactEntropy(after, stats).data<float>().ToArray();
                candidates = driftOk.data<bool>().ToArray();
                stats.RouterHostSyncs++;
                break;
            }
        }
        float[]? driftHost = trace is null ? null : drift.data<float>().ToArray();
        for (int j = 0; j < ta; j++)
        {
            int i = active[j];
            if (flags.FullProcessing[i]) continue;
            haltNow[j] = flags.ForcedHalt[i] || (candidates[j] && entropy[j] < halting.EntropyThreshold);
            if (trace is not null) { trace.Drift[i, layer] = driftHost![j]; trace.Entropy[i, layer] = entropy[j]; }
        }
    }

    /// <summary>Exact logit-lens entropy in nats of each row of (1, n, d): final norm, head, softmax.</summary>
    public torch.Tensor ExactEntropy(torch.Tensor hidden, RuntimeStats stats)
    {
        using var scope = torch.NewDisposeScope();
        var logp = _model.Logits(hidden).squeeze(0).log_softmax(-1); // (n, V)
        var entropy = -(logp.exp() * logp).sum(-1);
        stats.RouterFlops += hidden.shape[1] * (_model.HeadFlopsPerToken + 5.0 * _model.Config.VocabSize + 5.0 * _model.Config.HiddenSize);
        return entropy.MoveToOuterDisposeScope();
    }

    private void MergeIntoSuperTokens(FusionPolicy fusion, torch.Tensor h, torch.Tensor states, List<int> active, List<(int Earlier, int Later)> pairs, BlockOutput block, int start, RuntimeStats stats)
    {
        using var scope = torch.NewDisposeScope();
        var device = _model.Device;
        var earlierIdx = torch.tensor(pairs.Select(p => (long)p.Earlier).ToArray(), torch.int64, device);
        var laterIdx = torch.tensor(pairs.Select(p => (long)p.Later).ToArray(), torch.int64, device);
        var e = states.index_select(1, earlierIdx); // (1, P, d)
        var l = states.index_select(1, laterIdx);
        torch.Tensor merged;
        if (fusion.Weighting == FusionWeighting.Probability)
        {
            // α ∝ each member's top logit-lens probability.
            var pe = _model.Logits(e).softmax(-1).amax([-1], keepdim: true);
            var pl = _model.Logits(l).softmax(-1).amax([-1], keepdim: true);
            merged = TensorScalars.Sum(pe * e, pl * l) / TensorScalars.Sum(pe, pl);
            stats.RouterFlops += 2 * pairs.Count * (_model.HeadFlopsPerToken + 3.0 * _model.Config.VocabSize);
        }
        else if (fusion.Weighting == FusionWeighting.Attention && block.MaxAttention is not null)
        {
            // α ∝ the maximum attention each member received at this layer from any head and any query up to the later
            // member (row `Later` of the running maximum): the super-token's position, so no later query takes part.
            var running = block.MaxAttention.squeeze(0); // (Ta, Nk)
            long nk = running.shape[1];
            var flat = running.reshape(-1); // (Ta·Nk)
            var keyPositions = block.KeyPositions!; // (Nk)
            var laterRows = torch.tensor(pairs.Select(p => (long)p.Later).ToArray(), torch.int64, device); // (P)
            // Each member's key column is found where it lives (every member ran this block, so its key is there):
            // no copy of the key positions to the host per fusion layer.
            torch.Tensor Received(IEnumerable<int> members)
            {
                var targets = torch.tensor(members.Select(m => (long)(start + active[m])).ToArray(), torch.int64, device); // (P)
                var columns = keyPositions.unsqueeze(0).eq(targets.unsqueeze(1)).to(torch.int64).argmax(1); // (P)
                return flat.index_select(0, TensorScalars.Sum(TensorScalars.Times(laterRows, nk), columns)).view(1, -1, 1); // (1, P, 1)
            }
            var ae = Received(pairs.Select(p => p.Earlier));
            var al = Received(pairs.Select(p => p.Later));
            merged = TensorScalars.Sum(ae * e, al * l) / TensorScalars.ClampedMin(TensorScalars.Sum(ae, al), 1e-12);
        }
        else
        {
            merged = TensorScalars.DividedBy(TensorScalars.Sum(e, l), 2);
        }
        stats.RouterFlops += 3.0 * states.shape[2] * pairs.Count;
        // The super-token sits at the later position; the absorbed token keeps its own (pre-merge) frozen state.
        var laterGlobal = torch.tensor(pairs.Select(p => (long)active[p.Later]).ToArray(), torch.int64, device);
        h.index_copy_(1, laterGlobal, merged);
    }

    private void AssignBits(RoutingPlan plan, torch.Tensor states, List<int> active, TokenFlags flags, int[] bits, int start, KvCache? cache, RuntimeStats stats)
    {
        var q = plan.Policy.Quantization;
        // Uniform precision (all bands the same width) needs no entropy signal.
        bool uniform = q.LowBits == q.MidBits && q.MidBits == q.HighBits;
        float[] entropy;
        if (uniform) entropy = new float[active.Count];
        else if (_model.SupportsRows)
        {
            // The host rows' arithmetic, as the routed row step reads it: a step and a full pass decide alike on equal rows.
            entropy = DecisionEntropies(states, stats);
            stats.RouterHostSyncs++;
        }
        else
        {
            using var e = ExactEntropy(states, stats);
            entropy = e.data<float>().ToArray();
            stats.RouterHostSyncs++;
        }
        BitAssignment.Assign(q, plan.LogVocab, entropy, active, flags, start, cache, bits, stats);
    }

    private static torch.Tensor QuantizeRows(torch.Tensor xa, List<int> active, int[] bits, int groupSize)
    {
        using var scope = torch.NewDisposeScope();
        torch.Tensor result = xa;
        foreach (int b in new[] { 8, 4, 2 })
        {
            var rows = Enumerable.Range(0, active.Count).Where(j => bits[active[j]] == b).Select(j => (long)j).ToArray();
            if (rows.Length == 0) continue;
            if (ReferenceEquals(result, xa)) result = xa.clone();
            var idx = torch.tensor(rows, torch.int64, xa.device);
            result.index_copy_(1, idx, GroupQuantizer.FakeQuantize(xa.index_select(1, idx), b, groupSize));
        }
        return result.MoveToOuterDisposeScope();
    }
}
