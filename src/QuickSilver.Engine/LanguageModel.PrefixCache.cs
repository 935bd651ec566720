using QuickSilver.Engine.Generation;
using QuickSilver.Engine.PrefixCaching;

namespace QuickSilver.Engine;

/// <summary>Prefix caching on the step API: a sequence starts from a stored prefix and prefills the rest in whole blocks.</summary>
public sealed partial class LanguageModel
{
    /// <summary>
    /// Prepares <paramref name="sequence"/> for <paramref name="prompt"/> from <paramref name="prefixes"/>: empties it, restores
    /// the longest stored prefix (whole blocks, computed under the sequence's options), then prefills the following whole
    /// blocks in the passes <see cref="PrefixCache.ChunkEnds"/> gives, leaving the last chunk for the generator, whose own
    /// prefill is that chunk's pass. So the prompt's K/V and first logits equal a cold block-wise prefill bit for bit, hit or miss.
    /// </summary>
    /// <returns>Prompt tokens restored from the cache (0 on a miss).</returns>
    /// <exception cref="ArgumentException">The sequence was not created by this model, or the prompt is empty.</exception>
    public int RestorePrefix(Sequence sequence, PrefixCache prefixes, IReadOnlyList<int> prompt)
    {
        var owned = Own(sequence);
        ArgumentNullException.ThrowIfNull(prefixes);
        ArgumentNullException.ThrowIfNull(prompt);
        if (prompt.Count == 0) throw new ArgumentException("The prompt is empty.", nameof(prompt));
        owned.TruncateTo(0);
        int restored = prefixes.Restore(owned.CacheKey, prompt, owned.Cache, prompt.Count - 1);
        owned.AdoptRestored(prompt, restored);
        var ends = prefixes.ChunkEnds(restored, prompt.Count);
        int start = restored;
        for (int i = 0; i < ends.Count - 1; i++)
        {
            Prefill(owned, [.. prompt.Skip(start).Take(ends[i] - start)]);
            start = ends[i];
        }
        return restored;
    }

    /// <summary>
    /// Stores the whole blocks of <paramref name="prompt"/> that <paramref name="sequence"/> holds, up to
    /// <paramref name="length"/> (what <see cref="RestorePrefix"/> left the sequence holding: positions computed in block
    /// passes); returns the stored length (0: nothing stored).
    /// </summary>
    /// <exception cref="ArgumentException">The sequence was not created by this model.</exception>
    public int StorePrefix(Sequence sequence, PrefixCache prefixes, IReadOnlyList<int> prompt, int length)
    {
        var owned = Own(sequence);
        ArgumentNullException.ThrowIfNull(prefixes);
        ArgumentNullException.ThrowIfNull(prompt);
        int held = 0;
        while (held < owned.Length && held < prompt.Count && owned.Tokens[held] == prompt[held]) held++;
        return prefixes.Store(owned.CacheKey, prompt, owned.Cache, Math.Min(held, length));
    }

    private ModelSequence Own(Sequence sequence)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        if (sequence is not ModelSequence owned || !ReferenceEquals(owned.Model, this))
            throw new ArgumentException("The sequence was not created by this model.", nameof(sequence));
        return owned;
    }
}
