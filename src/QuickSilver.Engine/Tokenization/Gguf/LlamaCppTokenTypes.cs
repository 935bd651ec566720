namespace QuickSilver.Engine.Tokenization.Gguf;

/// <summary>
/// The token-type corrections llama.cpp's vocabulary loader makes by token text (<c>llama_vocab::impl::load</c>,
/// "auto-detect special tokens by text"): end-of-turn, end-of-message, fill-in-the-middle and end-of-generation tokens
/// become control tokens whatever the file says, and gpt-oss's message-structure tokens become user-defined.
/// </summary>
internal static class LlamaCppTokenTypes
{
    private static readonly HashSet<string> ForcedControl = new(StringComparer.Ordinal)
    {
        // end of turn / message / generation
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
        "<｜end▁of▁sentence｜>", "<end_of_utterance>", "<|eom_id|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "</s>", "<eos>",
        "<turn|>", "<|tool_response>", "[e~[",
        // fill in the middle
        "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>",
        "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>",
        "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>",
        "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
        "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>",
        "<|file_sep|>",
    };

    private static readonly HashSet<string> ForcedUserDefined = new(StringComparer.Ordinal) { "<|channel|>", "<|message|>", "<|start|>", "<|constrain|>" };

    /// <summary>The type llama.cpp uses for a token of type <paramref name="type"/> spelled <paramref name="text"/>.</summary>
    public static GgufTokenType Effective(string text, GgufTokenType type) =>
        ForcedUserDefined.Contains(text) ? GgufTokenType.UserDefined
        : ForcedControl.Contains(text) ? GgufTokenType.Control
        : type;
}
