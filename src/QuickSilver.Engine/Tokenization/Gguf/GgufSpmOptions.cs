namespace QuickSilver.Engine.Tokenization;

/// <summary>The GGUF keys of a SentencePiece (<c>llama</c>) vocabulary beyond its pieces and scores.</summary>
/// <param name="AddSpacePrefix"><c>tokenizer.ggml.add_space_prefix</c>.</param>
/// <param name="AddBos"><c>tokenizer.ggml.add_bos_token</c>.</param>
/// <param name="AddEos"><c>tokenizer.ggml.add_eos_token</c>.</param>
/// <param name="StopIds">EOT and EOM ids.</param>
/// <param name="SpecialTokens">Control, unknown and user-defined tokens: (text, id, is control).</param>
/// <param name="ChatTemplates">Chat templates by name ("default" for <c>tokenizer.chat_template</c>).</param>
internal sealed record GgufSpmOptions(bool AddSpacePrefix, bool AddBos, bool AddEos, IReadOnlyList<int> StopIds,
    IReadOnlyList<(string Text, int Id, bool Control)> SpecialTokens, IReadOnlyDictionary<string, string> ChatTemplates)
{
    /// <summary>llama.cpp's defaults for a SentencePiece vocabulary with no such keys.</summary>
    public static GgufSpmOptions Default { get; } = new(true, true, false, [], [], new Dictionary<string, string>());
}
