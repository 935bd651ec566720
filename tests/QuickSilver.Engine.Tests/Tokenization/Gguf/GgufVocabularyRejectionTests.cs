using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Engine.Tests.Tokenization.Gguf;

/// <summary>Malformed GGUF vocabularies: each is a <see cref="TokenizerException"/> naming the key and the file.</summary>
public sealed class GgufVocabularyRejectionTests
{
    private static string Write(ScratchFolder scratch, string name, Action<GgufWriter> configure)
    {
        var writer = new GgufWriter().AddMetadata("general.architecture", "llama");
        configure(writer);
        string path = scratch.File(name + ".gguf");
        writer.Write(path);
        return path;
    }

    private static GgufWriter Bpe(GgufWriter w, string[] tokens, string[] merges) => w
        .AddMetadata("tokenizer.ggml.model", "gpt2").AddMetadata("tokenizer.ggml.pre", "gpt-2")
        .AddMetadata("tokenizer.ggml.tokens", tokens).AddMetadata("tokenizer.ggml.merges", merges);

    [Fact]
    public void Duplicate_tokens_are_rejected_naming_both_ids()
    {
        using var scratch = new ScratchFolder();
        string path = Write(scratch, "dup", w => Bpe(w, ["a", "b", "a"], ["a b"]));
        var ex = Assert.Throws<TokenizerException>(() => TokenizerFactory.Load(path));
        Assert.Contains("tokenizer.ggml.tokens has 'a' twice (ids 0 and 2)", ex.Message);
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void A_merge_without_a_separating_space_is_rejected_naming_its_rank()
    {
        using var scratch = new ScratchFolder();
        string path = Write(scratch, "merge", w => Bpe(w, ["a", "b", "ab"], ["a b", "ab"]));
        Assert.Contains("tokenizer.ggml.merges[1] 'ab'", Assert.Throws<TokenizerException>(() => TokenizerFactory.Load(path)).Message);
    }

    [Fact]
    public void A_merge_outside_the_vocabulary_is_rejected()
    {
        using var scratch = new ScratchFolder();
        string path = Write(scratch, "oov", w => Bpe(w, ["a", "b"], ["a b"]));
        Assert.Contains("merge 0 'a b'", Assert.Throws<TokenizerException>(() => TokenizerFactory.Load(path)).Message);
    }

    [Fact]
    public void Missing_or_empty_tokens_and_short_token_types_are_rejected()
    {
        using var scratch = new ScratchFolder();
        string missing = Write(scratch, "missing", w => w.AddMetadata("tokenizer.ggml.model", "gpt2").AddMetadata("tokenizer.ggml.merges", new[] { "a b" }));
        Assert.Contains("tokenizer.ggml.tokens is missing", Assert.Throws<TokenizerException>(() => TokenizerFactory.Load(missing)).Message);

        string empty = Write(scratch, "empty", w => Bpe(w, [], []));
        Assert.Contains("tokenizer.ggml.tokens is empty", Assert.Throws<TokenizerException>(() => TokenizerFactory.Load(empty)).Message);

        string types = Write(scratch, "types", w => Bpe(w, ["a", "b", "ab"], ["a b"]).AddMetadata("tokenizer.ggml.token_type", new[] { 1, 1 }));
        Assert.Contains("tokenizer.ggml.token_type has 2 entries for 3 tokens", Assert.Throws<TokenizerException>(() => TokenizerFactory.Load(types)).Message);
    }

    [Fact]
    public void A_tiny_valid_vocabulary_merges_and_stops_as_llama_cpp_would()
    {
        using var scratch = new ScratchFolder();
        string path = Write(scratch, "ok", w => Bpe(w, ["a", "b", "ab", "<|im_end|>"], ["a b"])
            .AddMetadata("tokenizer.ggml.eos_token_id", 3u).AddMetadata("tokenizer.ggml.bos_token_id", 3u));
        var tok = TokenizerFactory.Load(path);
        Assert.Equal([2, 0], tok.Encode("aba", addBos: false));
        Assert.True(tok.IsControl(3)); // llama.cpp's text rule: <|im_end|> is a control token even when typed normal
        Assert.Equal([3], tok.EndOfTurnTokenIds);
        Assert.False(tok.AddBosToken); // gpt-2 pre: llama.cpp adds no BOS by default
    }
}
