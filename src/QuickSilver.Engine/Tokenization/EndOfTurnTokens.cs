namespace QuickSilver.Engine.Tokenization;

/// <summary>
/// The token texts that end a turn or a generation, as llama.cpp's vocabulary loader recognises them
/// (<c>special_eog_ids</c> in llama-vocab.cpp): Llama 3's <c>&lt;|eot_id|&gt;</c>/<c>&lt;|eom_id|&gt;</c>, ChatML's
/// <c>&lt;|im_end|&gt;</c>, Gemma's <c>&lt;end_of_turn&gt;</c>, Phi's <c>&lt;|end|&gt;</c>, gpt-oss's
/// <c>&lt;|return|&gt;</c>/<c>&lt;|call|&gt;</c>, DeepSeek's end of sentence, and the like.
/// </summary>
internal static class EndOfTurnTokens
{
    /// <summary>Token texts that end generation wherever they appear in a vocabulary.</summary>
    public static readonly string[] Names =
    [
        "<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>", "<|endoftext|>",
        "<|end_of_text|>", "</s>", "<EOT>", "_<EOT>", "[EOT]", "<end_of_utterance>", "<｜end▁of▁sentence｜>", "<|END_OF_TURN_TOKEN|>",
    ];

    /// <summary>
    /// The stop ids of a vocabulary: <paramref name="declared"/> (EOS, EOT, EOM, generation_config ids) and every
    /// special token whose text is in <see cref="Names"/>. As in llama.cpp, <c>&lt;|end|&gt;</c> is not a stop when the
    /// vocabulary also has <c>&lt;|return|&gt;</c> and <c>&lt;|call|&gt;</c> (gpt-oss ends a message with it mid-answer).
    /// </summary>
    public static int[] Collect(IEnumerable<int> declared, IEnumerable<(string Text, int Id)> specialTokens)
    {
        var ids = new SortedSet<int>(declared.Where(id => id >= 0));
        var byText = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (text, id) in specialTokens)
        {
            byText.TryAdd(text, id);
        }
        bool harmony = byText.ContainsKey("<|return|>") && byText.ContainsKey("<|call|>");
        foreach (string name in Names)
        {
            if (byText.TryGetValue(name, out int id) && !(harmony && name == "<|end|>"))
            {
                ids.Add(id);
            }
        }
        return [.. ids];
    }
}
