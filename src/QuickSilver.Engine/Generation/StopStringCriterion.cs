using System.Text;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Engine.Generation;

/// <summary>
/// Stops once the output text contains a stop string. Matching runs on the tokens' UTF-8 bytes: UTF-8 is self-synchronizing,
/// so a byte match is a text match, and a string split across tokens (or inside a multi-byte character) is still found.
/// </summary>
public sealed class StopStringCriterion : IStoppingCriterion
{
    private readonly ITokenizer _tokenizer;
    private readonly byte[][] _stops;
    private readonly List<byte> _bytes = [];

    /// <summary>Creates the matcher for <paramref name="stopStrings"/> (non-empty).</summary>
    public StopStringCriterion(ITokenizer tokenizer, IEnumerable<string> stopStrings)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(stopStrings);
        _tokenizer = tokenizer;
        _stops = [.. stopStrings.Select(s => string.IsNullOrEmpty(s) ? throw new ArgumentException("Stop strings must not be empty.", nameof(stopStrings)) : Encoding.UTF8.GetBytes(s))];
    }

    /// <inheritdoc />
    public StopDecision Check(int tokenId, GenerationProgress progress)
    {
        int before = _bytes.Count;
        _bytes.AddRange(_tokenizer.TokenBytes(tokenId)); // the output follows the prompt: never at text start
        foreach (byte[] stop in _stops)
        {
            // Only a match that ends in this token's bytes is new.
            int from = Math.Max(0, before - stop.Length + 1);
            for (int i = from; i + stop.Length <= _bytes.Count; i++)
                if (Matches(i, stop)) return StopDecision.After(GenerationFinishReason.Stop);
        }
        return StopDecision.Continue;
    }

    /// <inheritdoc />
    public object? Snapshot() => _bytes.Count;

    /// <inheritdoc />
    public void Restore(object? snapshot)
    {
        int count = snapshot is int n ? n : throw new ArgumentException("Not a snapshot of this criterion.", nameof(snapshot));
        _bytes.RemoveRange(count, _bytes.Count - count);
    }

    private bool Matches(int at, byte[] stop)
    {
        for (int j = 0; j < stop.Length; j++) if (_bytes[at + j] != stop[j]) return false;
        return true;
    }
}
