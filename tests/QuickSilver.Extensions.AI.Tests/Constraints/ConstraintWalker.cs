using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Speculative;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Extensions.AI.Constraints;

namespace QuickSilver.Extensions.AI.Tests.Constraints;

/// <summary>
/// Drives a constraint along random valid token paths over a real tokenizer, and reads everything a generator can observe of
/// it: the mask (through <see cref="ITokenConstraint.Apply"/>, as the generator does), the forced tokens jump-forward would
/// append, the completion flag and the constraint's own progress (output text, completed calls).
/// </summary>
internal sealed class ConstraintWalker
{
    private readonly ITokenizer _tokenizer;
    private readonly Random _random;
    private readonly int[][] _hints;
    private readonly Queue<int> _queue = new();
    private readonly float[] _logits;

    /// <param name="tokenizer">The tokenizer the constraint runs over.</param>
    /// <param name="seed">The path's seed.</param>
    /// <param name="hints">
    /// Texts the walk sometimes tries to write (a call marker, "&lt;think&gt;", "{"): uniform sampling over 50k tokens would
    /// almost never reach the states behind them. A hint's tokens are taken while the mask allows them.
    /// </param>
    public ConstraintWalker(ITokenizer tokenizer, int seed, params string[] hints)
    {
        _tokenizer = tokenizer;
        _random = new Random(seed);
        _hints = [.. hints.Select(h => tokenizer.Encode(h, addBos: false).ToArray()).Where(ids => ids.Length > 0)];
        _logits = new float[tokenizer.VocabSize];
    }

    /// <summary>The seeded source of the walk's choices (snapshot points, restore order).</summary>
    public Random Random => _random;

    /// <summary>A valid next token (hinted or uniform over the mask), or null when the mask allows none.</summary>
    public int? Next(ITokenConstraint constraint)
    {
        bool[] allowed = Mask(constraint);
        if (_queue.Count == 0 && _hints.Length > 0 && _random.NextDouble() < 0.15)
        {
            foreach (int id in _hints[_random.Next(_hints.Length)]) _queue.Enqueue(id);
        }
        if (_queue.Count > 0)
        {
            int hinted = _queue.Dequeue();
            if (allowed[hinted]) return hinted;
            _queue.Clear();
        }
        int count = allowed.Count(a => a);
        if (count == 0) return null;
        int pick = _random.Next(count);
        for (int id = 0; id < allowed.Length; id++)
        {
            if (allowed[id] && pick-- == 0) return id;
        }
        return null;
    }

    /// <summary>The tokens <see cref="ITokenConstraint.Apply"/> leaves finite.</summary>
    public bool[] Mask(ITokenConstraint constraint)
    {
        Array.Clear(_logits);
        constraint.Apply(_logits);
        return [.. _logits.Select(l => !float.IsNegativeInfinity(l))];
    }

    /// <summary>Everything a generator can observe of the constraint in its current state.</summary>
    public Observation Observe(ITokenConstraint constraint)
    {
        Span<int> forced = stackalloc int[48];
        int n = constraint is IForcedContinuation continuation ? continuation.PeekForced(forced) : 0;
        string progress = constraint switch
        {
            JsonSchemaConstraint json => $"text={json.Text} min={json.MinimumBytesToComplete}",
            NativeToolCallConstraint native => $"calls={native.CompletedCalls}",
            AutoToolCallConstraint auto => $"call={auto.IsCall}",
            _ => "",
        };
        return new Observation(Mask(constraint), forced[..n].ToArray(), constraint.IsComplete, progress);
    }

    /// <summary>Asserts two observations equal, naming the first differing token.</summary>
    public void AssertSame(Observation expected, Observation actual, string where)
    {
        for (int id = 0; id < expected.Mask.Length; id++)
        {
            if (expected.Mask[id] != actual.Mask[id])
                Assert.Fail($"{where}: token {id} ('{_tokenizer.TokenPiece(id)}') is {(expected.Mask[id] ? "allowed" : "masked")} on a fresh constraint but not after Restore.");
        }
        Assert.True(expected.Forced.SequenceEqual(actual.Forced), $"{where}: forced [{string.Join(",", expected.Forced)}] fresh, [{string.Join(",", actual.Forced)}] restored.");
        Assert.True(expected.Complete == actual.Complete, $"{where}: IsComplete {expected.Complete} fresh, {actual.Complete} restored.");
        Assert.True(expected.Progress == actual.Progress, $"{where}: {expected.Progress} fresh, {actual.Progress} restored.");
    }

    /// <summary>What a generator can observe of a constraint.</summary>
    public sealed record Observation(bool[] Mask, int[] Forced, bool Complete, string Progress);
}
