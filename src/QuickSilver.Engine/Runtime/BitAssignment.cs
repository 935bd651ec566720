using QuickSilver.Policies;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// Maps decision-layer entropies to bit widths (paper 2.5, E.1). Min-max normalization uses the running minimum and
/// maximum over the positions up to and including each token (this pass and, through the cache, earlier ones), never
/// over the whole batch: a batch-wide range would let later tokens choose an earlier token's precision (issue 13).
/// </summary>
internal static class BitAssignment
{
    /// <summary>Full precision: no quantization.</summary>
    public const int FullPrecision = 32;

    /// <summary>Sets <paramref name="bits"/>[i] for each active token and records the entropies in <paramref name="cache"/>.</summary>
    /// <param name="entropy">Decision-layer entropy of each active token, in active order (ascending positions).</param>
    public static void Assign(QuantizationPolicy q, double logVocab, float[] entropy, List<int> active, TokenFlags flags,
        int start, KvCache? cache, int[] bits, RuntimeStats stats)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        if (q.Normalization == EntropyNormalization.MinMax && cache is not null)
            for (int p = 0; p < start; p++)
            {
                float e = cache.DecisionEntropy(p);
                if (float.IsNaN(e)) continue;
                min = Math.Min(min, e);
                max = Math.Max(max, e);
            }
        for (int j = 0; j < active.Count; j++)
        {
            int i = active[j];
            double h = entropy[j];
            if (!double.IsNaN(h)) { min = Math.Min(min, h); max = Math.Max(max, h); }
            cache?.SetDecisionEntropy(start + i, entropy[j]);
            double normalized = q.Normalization switch
            {
                // The first token has an empty range: it is treated as the most uncertain (high bits), as before.
                EntropyNormalization.MinMax => max > min ? (h - min) / (max - min) : 1.0,
                EntropyNormalization.LogVocab => h / logVocab,
                _ => h,
            };
            int b = q.BitsFor((float)normalized);
            if (flags.QuantizationOverride[i] || flags.FullProcessing[i]) b = q.HighBits;
            if (flags.FullPrecision[i]) { bits[i] = FullPrecision; continue; }
            bits[i] = b;
            switch (b) { case 8: stats.Tokens8Bit++; break; case 4: stats.Tokens4Bit++; break; default: stats.Tokens2Bit++; break; }
        }
    }
}
