namespace QuickSilver.Cli.Compare;

/// <summary>
/// The sliding-window schedule of PerplexityEvaluator, shared so that both sides score exactly the same targets
/// with exactly the same context: windows start every <c>stride</c> tokens, each scores only targets no earlier window scored.
/// </summary>
internal static class PplWindows
{
    /// <summary>(begin, end, firstTarget) for each window; targets are ids[firstTarget..end).</summary>
    public static IEnumerable<(int Begin, int End, int FirstTarget)> Schedule(int count, int window, int stride)
    {
        int scoredUpTo = 0;
        for (int begin = 0; scoredUpTo < count - 1; begin += stride)
        {
            int end = Math.Min(begin + window, count);
            yield return (begin, end, Math.Max(scoredUpTo + 1, begin + 1));
            scoredUpTo = end - 1;
            if (end == count) yield break;
        }
    }

    /// <summary>−log softmax(logits)[target], in double precision.</summary>
    public static double Nll(ReadOnlySpan<float> logits, int target)
    {
        double max = double.NegativeInfinity;
        foreach (float v in logits) max = Math.Max(max, v);
        double sum = 0;
        foreach (float v in logits) sum += Math.Exp(v - max);
        return -(logits[target] - max - Math.Log(sum));
    }
}
