using QuickSilver.Policies;
using TorchSharp;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// Chooses which active tokens fuse after a block (paper 2.3). Pairs are decided in one left-to-right pass over the
/// later member, so whether a token fuses as the later member depends only on it and earlier tokens: a token that
/// would pair with its next neighbour is not thereby stopped from absorbing an earlier one (issue 13's causality rule).
/// </summary>
internal static class FusionPairing
{
    /// <summary>
    /// Appends pairs (earlier, later), as indices into <paramref name="active"/>, to <paramref name="pairs"/>.
    /// </summary>
    /// <param name="states">The active tokens' states after the block (1, Ta, d).</param>
    public static void Decide(FusionPolicy fusion, torch.Tensor states, List<int> active, TokenFlags flags, bool[] haltNow,
        List<(int Earlier, int Later)> pairs, AttentionSimilarity? similarity, RuntimeStats stats)
    {
        int ta = active.Count;
        if (ta < 2) return;
        using var scope = torch.NewDisposeScope();
        long width = states.shape[2];
        // A halted token never fuses (D.6); exempt tokens (full processing, numbers, rare ids, the 8-bit override lexicon) never do either.
        bool Eligible(int j) => !haltNow[j] && !flags.FullProcessing[active[j]] && !flags.QuantizationOverride[active[j]];

        // Adjacent pairs (j−1, j): distance of neighbours in the active list.
        var later = states.narrow(1, 1, ta - 1);
        var distance = (later - states.narrow(1, 0, ta - 1)).norm(-1, false).squeeze(0); // (Ta−1)
        stats.RouterFlops += 3.0 * width * (ta - 1);
        if (fusion.RelativeDistance)
        {
            distance = distance / TensorScalars.ClampedMin(later.norm(-1, false).squeeze(0), 1e-12);
            stats.RouterFlops += 2.0 * width * (ta - 1);
        }
        var adjacent = distance.data<float>().ToArray(); // host sync: the pairing is decided on the host
        stats.RouterHostSyncs++;

        // Non-adjacent candidates within the window: running q·k cosine above τ_attn (2.3). Their distances are read in
        // one batch for every candidate, before knowing which earlier tokens will already be taken.
        var candidates = new List<(int Earlier, int Later)>();
        if (similarity is not null && fusion.AttentionSimilarityThreshold is float tauAttn)
            for (int j = 0; j < ta; j++)
            {
                if (!Eligible(j)) continue;
                for (int e = j - 1; e >= 0 && active[j] - active[e] <= fusion.AttentionWindow; e--)
                    if (Eligible(e) && active[j] - active[e] != 1 && similarity.Mean(active[j], active[e]) > tauAttn) candidates.Add((e, j));
            }
        var candidateDistance = CandidateDistances(fusion, states, candidates, stats);

        var used = new bool[ta];
        int next = 0; // into candidates, which are grouped by later index, nearest earlier first
        for (int j = 1; j < ta; j++)
        {
            int a = active[j - 1], b = active[j];
            bool adjacentPair = b == a + 1 && !used[j - 1];
            bool forced = adjacentPair && flags.ForceFuseWithNext[a] && !haltNow[j - 1] && !haltNow[j] && !flags.FullProcessing[a] && !flags.FullProcessing[b];
            if (forced || (adjacentPair && Eligible(j - 1) && Eligible(j) && adjacent[j - 1] < fusion.DistanceThreshold))
            {
                pairs.Add((j - 1, j));
                used[j - 1] = used[j] = true; // each token fuses at most once per layer
            }
            while (next < candidates.Count && candidates[next].Later < j) next++;
            if (used[j]) continue;
            // The nearest free similar earlier token is the partner; if it is too far in state space, j does not fuse (2.3).
            for (; next < candidates.Count && candidates[next].Later == j; next++)
            {
                int e = candidates[next].Earlier;
                if (used[e]) continue;
                if (candidateDistance[next] < fusion.DistanceThreshold) { pairs.Add((e, j)); used[e] = used[j] = true; }
                break;
            }
        }
    }

    private static float[] CandidateDistances(FusionPolicy fusion, torch.Tensor states, List<(int Earlier, int Later)> candidates, RuntimeStats stats)
    {
        if (candidates.Count == 0) return [];
        using var scope = torch.NewDisposeScope();
        var ei = torch.tensor(candidates.Select(c => (long)c.Earlier).ToArray(), torch.int64, states.device);
        var li = torch.tensor(candidates.Select(c => (long)c.Later).ToArray(), torch.int64, states.device);
        var le = states.index_select(1, li);
        var dist = (le - states.index_select(1, ei)).norm(-1, false).squeeze(0);
        if (fusion.RelativeDistance) dist = dist / TensorScalars.ClampedMin(le.norm(-1, false).squeeze(0), 1e-12);
        stats.RouterHostSyncs++;
        stats.RouterFlops += 5.0 * states.shape[2] * candidates.Count;
        return dist.data<float>().ToArray();
    }
}
