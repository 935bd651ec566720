using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>
/// The token ids that end an assistant turn: EOS and every end-of-turn / end-of-message token the vocabulary declares
/// (<c>&lt;|eot_id|&gt;</c>, <c>&lt;|eom_id|&gt;</c>, <c>&lt;|im_end|&gt;</c>, <c>&lt;end_of_turn&gt;</c>, <c>&lt;|end|&gt;</c>, …), found by
/// their texts as llama.cpp's vocabulary loader finds them. Generation stops on any of them, whatever the template.
/// </summary>
internal static class TurnEndTokens
{
    private static readonly HashSet<string> Names = new(StringComparer.Ordinal)
    {
        "<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>", "<|endoftext|>",
        "<|end_of_text|>", "</s>", "<EOT>", "<end_of_utterance>", "<｜end▁of▁sentence｜>", "<|END_OF_TURN_TOKEN|>",
    };

    /// <summary>The stop ids of <paramref name="tokenizer"/>, sorted.</summary>
    public static int[] For(ITokenizer tokenizer)
    {
        // What the tokenizer itself declares (generation_config.json eos_token_id lists, GGUF eot/eom ids), then the texts.
        var ids = new SortedSet<int>(tokenizer.EndOfTurnTokenIds.Where(id => id >= 0));
        if (tokenizer.EosTokenId >= 0) ids.Add(tokenizer.EosTokenId);
        bool harmony = false;
        var found = new List<(string Piece, int Id)>();
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            string piece = tokenizer.TokenPiece(id);
            if (piece.Length < 3 || piece[0] != '<' || !Names.Contains(piece)) continue;
            // Only a token the vocabulary marks as control, or one that decodes to its own spelling as a single special piece.
            if (!tokenizer.IsControl(id) && piece != "<|endoftext|>" && !piece.StartsWith("<|", StringComparison.Ordinal)) continue;
            found.Add((piece, id));
            harmony |= piece == "<|return|>";
        }
        foreach ((string piece, int id) in found)
        {
            // gpt-oss ends each message with <|end|> inside one answer; its turn ends with <|return|> or <|call|>.
            if (harmony && piece == "<|end|>") continue;
            ids.Add(id);
        }
        return [.. ids];
    }
}
