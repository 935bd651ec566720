using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Engine.Tests.Tokenization.HuggingFace;

/// <summary>The Llama 3.1 and Qwen3 tokenizer.json files against the reference ids of 202 hard strings.</summary>
public sealed class HfTokenizerConformanceTests
{
    [Theory]
    [InlineData("llama3_1")]
    [InlineData("qwen3")]
    public void Plain_ids_match_the_reference_on_every_string(string model)
    {
        var tokenizer = RealTokenizerFixtures.Tokenizer(model);
        var (plain, _, _) = RealTokenizerFixtures.Expected(model);
        string[] corpus = RealTokenizerFixtures.Corpus;
        Assert.Equal(corpus.Length, plain.Length);
        var failures = new List<string>();
        for (int i = 0; i < corpus.Length; i++)
        {
            int[] ids = [.. tokenizer.Encode(corpus[i], addBos: false)];
            if (!ids.SequenceEqual(plain[i]))
            {
                failures.Add($"#{i} {System.Text.Json.JsonSerializer.Serialize(corpus[i])}: got [{string.Join(",", ids)}] want [{string.Join(",", plain[i])}]");
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count}/{corpus.Length} differ:\n{string.Join("\n", failures.Take(15))}");
    }

    [Theory]
    [InlineData("llama3_1")]
    [InlineData("qwen3")]
    public void Special_token_parsing_matches_the_reference_default(string model)
    {
        var tokenizer = RealTokenizerFixtures.Tokenizer(model);
        var (_, expected, _) = RealTokenizerFixtures.Expected(model);
        string[] corpus = RealTokenizerFixtures.Corpus;
        int mismatches = Enumerable.Range(0, corpus.Length).Count(i => !tokenizer.EncodeWithSpecialTokens(corpus[i], addBos: false).SequenceEqual(expected[i]));
        Assert.Equal(0, mismatches);
    }

    [Theory]
    [InlineData("llama3_1")]
    [InlineData("qwen3")]
    public void Decoding_the_reference_ids_reproduces_the_reference_text(string model)
    {
        var tokenizer = RealTokenizerFixtures.Tokenizer(model);
        var (plain, _, decoded) = RealTokenizerFixtures.Expected(model);
        for (int i = 0; i < plain.Length; i++)
        {
            Assert.Equal(decoded[i], tokenizer.Decode(plain[i]));
        }
    }

    [Fact]
    public void Llama_special_tokens_and_flags_come_from_the_config()
    {
        var llama = RealTokenizerFixtures.Tokenizer("llama3_1");
        Assert.Equal(128256, llama.VocabSize);
        Assert.Equal(128000, llama.BosTokenId);
        Assert.Equal(128009, llama.EosTokenId);
        Assert.True(llama.AddBosToken);
        Assert.Contains(128009, llama.EndOfTurnTokenIds); // <|eot_id|>
        // This tokenizer.json predates <|eom_id|> (128008 is still a reserved token here); EOM is covered by HfSpecialTokenTests.
        Assert.Contains(128001, llama.EndOfTurnTokenIds); // <|end_of_text|>
        Assert.NotNull(llama.ChatTemplate);
        Assert.True(llama.IsControl(128009));
        Assert.Equal("<|eot_id|>", llama.TokenPiece(128009));
        Assert.Empty(llama.TokenBytes(128009));
        // "\n\n" after a header is one token.
        Assert.Equal([128006, 882, 128007, 271], llama.EncodeWithSpecialTokens("<|start_header_id|>user<|end_header_id|>\n\n", addBos: false));
    }

    [Fact]
    public void Qwen_has_no_bos_and_stops_on_im_end()
    {
        var qwen = RealTokenizerFixtures.Tokenizer("qwen3");
        Assert.Equal(151669, qwen.VocabSize);
        Assert.False(qwen.AddBosToken);
        Assert.Equal(151645, qwen.EosTokenId);
        Assert.Contains(151645, qwen.EndOfTurnTokenIds);
        Assert.Contains(151643, qwen.EndOfTurnTokenIds);
        // <think> is a non-special added token: recognised in plain text, and decoded as text.
        Assert.Equal([151667], qwen.Encode("<think>", addBos: false));
        Assert.False(qwen.IsControl(151667));
        Assert.Equal("<think>", qwen.Decode([151667]));
    }
}
