namespace QuickSilver.Testing.Conformance;

/// <summary>Comparisons between logits at every position (<c>[position][token]</c>).</summary>
internal static class ConformanceMetrics
{
    /// <summary>max |a − b| over every position and token.</summary>
    public static double MaxAbsDelta(IReadOnlyList<IReadOnlyList<double>> a, IReadOnlyList<IReadOnlyList<double>> b)
    {
        Check(a, b);
        double max = 0;
        for (int t = 0; t < a.Count; t++)
            for (int v = 0; v < a[t].Count; v++) max = Math.Max(max, Math.Abs(a[t][v] - b[t][v]));
        return max;
    }

    /// <summary>Fraction of positions whose highest logit is the same token.</summary>
    public static double ArgmaxAgreement(IReadOnlyList<IReadOnlyList<double>> a, IReadOnlyList<IReadOnlyList<double>> b)
    {
        Check(a, b);
        int same = 0;
        for (int t = 0; t < a.Count; t++) same += ArgMax(a[t]) == ArgMax(b[t]) ? 1 : 0;
        return (double)same / a.Count;
    }

    /// <summary>
    /// Positions where <paramref name="ours"/> and <paramref name="theirs"/> pick different top tokens although the exact
    /// logits (<paramref name="exact"/>) separate those two tokens by more than 2 × <paramref name="theirError"/>, theirs'
    /// max distance from exact: flips that their rounding cannot explain. A flip of a closer near-tie is their rounding's doing
    /// when ours equals the exact argmax there.
    /// </summary>
    public static int UnexplainedArgmaxFlips(IReadOnlyList<IReadOnlyList<double>> ours, IReadOnlyList<IReadOnlyList<double>> theirs, IReadOnlyList<IReadOnlyList<double>> exact, double theirError)
    {
        Check(ours, theirs);
        Check(ours, exact);
        int unexplained = 0;
        for (int t = 0; t < ours.Count; t++)
        {
            int a = ArgMax(ours[t]), b = ArgMax(theirs[t]);
            if (a == b) continue;
            bool oursIsExact = a == ArgMax(exact[t]);
            if (!oursIsExact || Math.Abs(exact[t][a] - exact[t][b]) > 2 * theirError) unexplained++;
        }
        return unexplained;
    }

    /// <summary>exp of the mean negative log-likelihood of tokens[t + 1] under logits[t] for t in [<paramref name="from"/>, <paramref name="to"/>) (log-softmax in float64).</summary>
    public static double Perplexity(IReadOnlyList<IReadOnlyList<double>> logits, IReadOnlyList<int> tokens, int from, int to)
    {
        if (logits.Count != tokens.Count) throw new ArgumentException("Need logits for every position.", nameof(tokens));
        if (from < 0 || to > tokens.Count - 1 || from >= to) return double.NaN;
        double nll = 0;
        for (int t = from; t < to; t++)
        {
            IReadOnlyList<double> row = logits[t];
            double max = row.Max();
            double sum = row.Sum(v => Math.Exp(v - max));
            nll -= row[tokens[t + 1]] - max - Math.Log(sum);
        }
        return Math.Exp(nll / (to - from));
    }

    /// <summary>float32 rows widened.</summary>
    public static double[][] Widen(float[][] rows) => [.. rows.Select(r => r.Select(v => (double)v).ToArray())];

    /// <summary>Flat float32 logits <c>[position × vocab]</c> split into rows.</summary>
    public static double[][] Rows(float[] flat, int vocab) =>
        [.. Enumerable.Range(0, flat.Length / vocab).Select(t => flat.AsSpan(t * vocab, vocab).ToArray().Select(v => (double)v).ToArray())];

    private static int ArgMax(IReadOnlyList<double> row)
    {
        int best = 0;
        for (int i = 1; i < row.Count; i++) if (row[i] > row[best]) best = i;
        return best;
    }

    private static void Check(IReadOnlyList<IReadOnlyList<double>> a, IReadOnlyList<IReadOnlyList<double>> b)
    {
        if (a.Count != b.Count || a.Count == 0 || a.Zip(b).Any(p => p.First.Count != p.Second.Count))
            throw new ArgumentException("Logits of different shapes.");
    }
}
