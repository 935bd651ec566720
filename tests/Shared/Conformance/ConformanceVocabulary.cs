using QuickSilver.Engine.Loading;

namespace QuickSilver.Testing.Conformance;

/// <summary>Tokenizer metadata as llama.cpp's converter writes it, for random models whose token strings do not matter.</summary>
internal static class ConformanceVocabulary
{
    /// <summary>A SentencePiece ("llama") vocabulary: &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt; then plain pieces, with scores and types.</summary>
    public static GgufWriter AddSentencePiece(GgufWriter writer, int size)
    {
        string[] tokens = [.. Enumerable.Range(0, size).Select(i => i switch { 0 => "<unk>", 1 => "<s>", 2 => "</s>", _ => $"▁t{i}" })];
        // llama_token_type: 1 normal, 2 unknown, 3 control.
        int[] types = [.. Enumerable.Range(0, size).Select(i => i switch { 0 => 2, 1 or 2 => 3, _ => 1 })];
        return writer
            .AddMetadata("tokenizer.ggml.model", "llama")
            .AddMetadata("tokenizer.ggml.tokens", tokens)
            .AddMetadata("tokenizer.ggml.scores", Enumerable.Range(0, size).Select(i => i < 3 ? 0f : -(float)i).ToArray())
            .AddMetadata("tokenizer.ggml.token_type", types)
            .AddMetadata("tokenizer.ggml.bos_token_id", 1u)
            .AddMetadata("tokenizer.ggml.eos_token_id", 2u)
            .AddMetadata("tokenizer.ggml.unknown_token_id", 0u)
            .AddMetadata("tokenizer.ggml.add_bos_token", true)
            .AddMetadata("tokenizer.ggml.add_eos_token", false);
    }
}
