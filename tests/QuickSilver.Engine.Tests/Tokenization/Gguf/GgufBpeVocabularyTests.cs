using System.Text;
using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Tests.Tokenization.HuggingFace;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Engine.Tests.Tokenization.Gguf;

/// <summary>Tokenizer-only GGUFs of the Llama 3.1 and Qwen3 vocabularies give the reference ids of the 202 hard strings.</summary>
public sealed class GgufBpeVocabularyTests
{
    private static string Json(string model) => Path.Combine(RealTokenizerFixtures.Folder(model), "tokenizer.json");

    [Fact]
    public void Llama3_vocabulary_with_pre_llama_bpe_matches_the_reference_ids()
    {
        using var scratch = new ScratchFolder();
        string gguf = TokenizerOnlyGguf.Write(scratch, Json("llama3_1"), "llama-bpe", bos: 128000, eos: 128009,
            w => w.AddMetadata("tokenizer.ggml.eot_token_id", 128009u).AddMetadata("tokenizer.ggml.eom_token_id", 128008u)
                  .AddMetadata("tokenizer.chat_template", "{{ bos_token }}"));
        var tokenizer = TokenizerFactory.Load(gguf);
        var (plain, special, decoded) = RealTokenizerFixtures.Expected("llama3_1");
        string[] corpus = RealTokenizerFixtures.Corpus;
        var failures = Enumerable.Range(0, corpus.Length).Where(i => !tokenizer.Encode(corpus[i], addBos: false).SequenceEqual(plain[i])).ToList();
        Assert.True(failures.Count == 0, $"{failures.Count} differ, first #{failures.FirstOrDefault()}");
        Assert.All(Enumerable.Range(0, corpus.Length), i => Assert.Equal(special[i], tokenizer.EncodeWithSpecialTokens(corpus[i], addBos: false)));
        Assert.All(Enumerable.Range(0, corpus.Length), i => Assert.Equal(decoded[i], tokenizer.Decode(plain[i])));

        Assert.Equal((128000, 128009), (tokenizer.BosTokenId, tokenizer.EosTokenId));
        Assert.True(tokenizer.AddBosToken); // llama.cpp's default for llama-bpe
        Assert.Equal([128001, 128008, 128009], tokenizer.EndOfTurnTokenIds.Where(id => id is 128001 or 128008 or 128009));
        Assert.Equal("{{ bos_token }}", tokenizer.ChatTemplate);
        Assert.True(tokenizer.IsControl(128009));
        Assert.Equal([128000, 40, 128009], tokenizer.EncodeWithSpecialTokens("<|begin_of_text|>I<|eot_id|>", addBos: false));
    }

    [Fact]
    public void Qwen3_vocabulary_with_pre_qwen2_matches_the_reference_ids_on_NFC_text()
    {
        // llama.cpp has no normalizers: the reference's NFC step is applied to the input here.
        using var scratch = new ScratchFolder();
        string gguf = TokenizerOnlyGguf.Write(scratch, Json("qwen3"), "qwen2", bos: 151643, eos: 151645,
            w => w.AddMetadata("tokenizer.ggml.add_bos_token", false));
        var tokenizer = TokenizerResolver.FromGguf(GgufFile.Read(gguf));
        var (plain, _, _) = RealTokenizerFixtures.Expected("qwen3");
        string[] corpus = RealTokenizerFixtures.Corpus;
        // llama.cpp makes fill-in-the-middle tokens control tokens by their text (Qwen3 declares them non-special), so in
        // plain text they stay characters there, unlike the reference.
        var fim = Enumerable.Range(0, corpus.Length).Where(i => corpus[i].Contains("<|fim_", StringComparison.Ordinal)).ToList();
        Assert.Single(fim);
        var failures = Enumerable.Range(0, corpus.Length).Except(fim)
            .Where(i => !tokenizer.Encode(corpus[i].Normalize(NormalizationForm.FormC), addBos: false).SequenceEqual(plain[i])).ToList();
        Assert.True(failures.Count == 0, $"{failures.Count} differ, first #{failures.FirstOrDefault()}");
        Assert.Equal(plain[fim[0]], tokenizer.EncodeWithSpecialTokens(corpus[fim[0]], addBos: false));
        Assert.False(tokenizer.AddBosToken);
        Assert.Contains(151645, tokenizer.EndOfTurnTokenIds); // <|im_end|>
        // User-defined tokens (non-special added tokens) are matched in plain text, control tokens are not.
        Assert.Equal([151667], tokenizer.Encode("<think>", addBos: false));
        Assert.NotEqual([151645], tokenizer.Encode("<|im_end|>", addBos: false));
        Assert.Equal([151645], tokenizer.EncodeWithSpecialTokens("<|im_end|>", addBos: false));
    }

    [Theory]
    [InlineData("mistral", "llama.cpp does not know it")]
    [InlineData("kimi-k2", "custom code")]
    [InlineData("gemma4", "not a byte-level vocabulary")]
    public void Unknown_or_unsupported_pre_is_an_error_naming_it(string pre, string why)
    {
        using var scratch = new ScratchFolder();
        string gguf = TokenizerOnlyGguf.Write(scratch, TokenizerOnlyGguf.Tiny, pre, bos: 0, eos: 0);
        var ex = Assert.Throws<TokenizerException>(() => TokenizerFactory.Load(gguf));
        Assert.Contains($"tokenizer.ggml.pre = '{pre}'", ex.Message);
        Assert.Contains(why, ex.Message);
        Assert.Contains(gguf, ex.Message);
    }

    [Fact]
    public void Unsupported_model_type_and_missing_merges_are_errors_naming_them()
    {
        using var scratch = new ScratchFolder();
        string bert = TokenizerOnlyGguf.Write(scratch, TokenizerOnlyGguf.Tiny, "qwen2", 0, 0, model: "bert");
        Assert.Contains("tokenizer.ggml.model 'bert'", Assert.Throws<TokenizerException>(() => TokenizerFactory.Load(bert)).Message);

        var writer = new GgufWriter().AddMetadata("general.architecture", "llama").AddMetadata("tokenizer.ggml.model", "gpt2")
            .AddMetadata("tokenizer.ggml.pre", "qwen2").AddMetadata("tokenizer.ggml.tokens", new[] { "a", "b" });
        string path = scratch.File("nomerges.gguf");
        writer.Write(path);
        Assert.Contains("tokenizer.ggml.merges is missing", Assert.Throws<TokenizerException>(() => TokenizerFactory.Load(path)).Message);
    }

    [Fact]
    public void Every_pre_tokenizer_regex_in_the_table_compiles_and_splits()
    {
        foreach (var pre in Engine.Tokenization.Gguf.LlamaCppPreTokenizers.All)
        {
            foreach (string regex in pre.Regexes)
            {
                var compiled = new Engine.Tokenization.HuggingFace.UnicodeRegex(regex, pre.Names[0]);
                Assert.NotEmpty(compiled.Matches("Hello, world! 123 😀 你好\n"));
            }
        }
    }
}
