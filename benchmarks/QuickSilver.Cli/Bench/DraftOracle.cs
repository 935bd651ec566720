namespace QuickSilver.Cli.Bench;

/// <summary>
/// The ceiling of speculative decoding on a given greedy output: how many steps an oracle drafter would need that, before
/// every step, knows the output and copies the best single earlier match of the context (any n-gram length ≥ 1 ending at the
/// pending token, up to <c>maxDraft</c> tokens after it). No n-gram drafter (prompt lookup) can accept more per step, and
/// even with verification rows that cost nothing, decode cannot run faster than plain steps ÷ oracle steps.
/// </summary>
internal static class DraftOracle
{
    /// <summary>Steps to emit <paramref name="output"/> after <paramref name="prompt"/> (the first token comes from the prefill, as in the generator).</summary>
    public static int Steps(IReadOnlyList<int> prompt, IReadOnlyList<int> output, int maxDraft)
    {
        var context = new List<int>(prompt.Count + output.Count);
        context.AddRange(prompt);
        int steps = 0;
        for (int p = 0; p < output.Count;)
        {
            // The step that emits output[p] runs it with drafts after it; accepted drafts are emitted by the same step.
            int accepted = p == 0 ? 0 : BestMatch(context, output, p, maxDraft);
            steps++;
            for (int i = 0; i <= accepted; i++) context.Add(output[p + i]);
            p += 1 + accepted;
        }
        return steps;
    }

    /// <summary>
    /// The most drafts any earlier occurrence of output[p] in the context (followed by its continuation) would get accepted,
    /// with the context being everything before output[p].
    /// </summary>
    public static int BestMatch(IReadOnlyList<int> context, IReadOnlyList<int> output, int p, int maxDraft)
    {
        // full = context + output[p]; an earlier position e with full[e − 1] == output[p] drafts full[e..e + maxDraft).
        int pending = output[p], length = context.Count + 1, best = 0;
        int At(int i) => i < context.Count ? context[i] : pending;
        for (int end = 1; end < length; end++)
        {
            if (At(end - 1) != pending) continue;
            int m = 0;
            while (m < maxDraft && end + m < length && p + 1 + m < output.Count && At(end + m) == output[p + 1 + m]) m++;
            best = Math.Max(best, m);
        }
        return best;
    }
}
