namespace QuickSilver.Cli.Compare;

/// <summary>
/// The sliding-window schedule of PerplexityEvaluator, shared so that both sides score exactly the same targets
/// with exactly the same context: windows of <c>window</c> inputs start every <c>stride</c> tokens and predict the token after each input; each scores only targets no earlier window scored.
/// </summary>
internal static class PplWindows
{
    /// <summary>(begin, end, firstTarget) for each window: inputs ids[begin..end) predict targets ids[firstTarget..end] (inclusive), input j predicting target j + 1.</summary>
    public static IEnumerable<(int Begin, int End, int FirstTarget)> Schedule(int count, int window, int stride)
    {
        int last = count - 1, scoredUpTo = 0;
        for (int begin = 0; scoredUpTo < last; begin += stride)
        {
            int end = Math.Min(begin + window, last);
            yield return (begin, end, Math.Max(scoredUpTo + 1, begin + 1));
            scoredUpTo = end;
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
