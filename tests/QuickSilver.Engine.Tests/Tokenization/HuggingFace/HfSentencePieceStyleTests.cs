using System.Text.Json.Nodes;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Engine.Tests.Tokenization.HuggingFace;

/// <summary>SentencePiece-style BPE from tokenizer.json (Llama 2 / Mistral / Gemma shape): Prepend/Replace or Metaspace, byte fallback.</summary>
public sealed class HfSentencePieceStyleTests
{
    [Fact]
    public void Prepend_and_replace_normalizers_with_byte_fallback_encode_and_decode()
    {
        using var fixture = new SyntheticTokenizerJson();
        var tokenizer = HuggingFaceTokenizer.Load(fixture.Write());
        int B(char c) => SyntheticTokenizerJson.FirstByte + c;

        Assert.Equal([fixture.Id("▁hello")], tokenizer.Encode("hello", addBos: false));
        Assert.Equal([fixture.Id("▁hello"), fixture.Id("▁"), fixture.Id("world")], tokenizer.Encode("hello world", addBos: false));
        Assert.Equal([fixture.Id("▁hello"), B('!')], tokenizer.Encode("hello!", addBos: false));
        Assert.Equal([fixture.Id("▁"), SyntheticTokenizerJson.FirstByte + 0xC3, SyntheticTokenizerJson.FirstByte + 0xA9], tokenizer.Encode("é", addBos: false));
        Assert.Equal([SyntheticTokenizerJson.Bos, fixture.Id("▁hello")], tokenizer.Encode("hello", addBos: true));
        Assert.True(tokenizer.AddBosToken); // from the TemplateProcessing post-processor
        Assert.Equal(SyntheticTokenizerJson.Bos, tokenizer.BosTokenId);

        foreach (string text in new[] { "hello", "hello world", "hello!", "é", " hello  world ", "😀 héllo\n" })
        {
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text, addBos: false)));
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text, addBos: true)));
        }
    }

    [Fact]
    public void Special_token_text_is_plain_text_unless_asked_for()
    {
        using var fixture = new SyntheticTokenizerJson();
        var tokenizer = HuggingFaceTokenizer.Load(fixture.Write());
        var plain = tokenizer.Encode("<s>hello", addBos: false);
        Assert.DoesNotContain(SyntheticTokenizerJson.Bos, plain);
        Assert.Equal("<s>hello", tokenizer.Decode(plain));
        // The normalizer runs on the text after the special token, so it gets its own ▁ (as in the reference).
        Assert.Equal([SyntheticTokenizerJson.Bos, fixture.Id("▁hello")], tokenizer.EncodeWithSpecialTokens("<s>hello", addBos: false));
        Assert.True(tokenizer.IsControl(SyntheticTokenizerJson.Bos));
        Assert.Equal("hello", tokenizer.Decode([SyntheticTokenizerJson.Bos, fixture.Id("▁hello")]));
    }

    [Fact]
    public void Unknown_characters_without_byte_fallback_fuse_into_one_unknown_token()
    {
        using var fixture = new SyntheticTokenizerJson();
        fixture.Root["model"]!["byte_fallback"] = false;
        var tokenizer = HuggingFaceTokenizer.Load(fixture.Write());
        Assert.Equal([fixture.Id("▁"), SyntheticTokenizerJson.Unk, fixture.Id("▁hello")], tokenizer.Encode("éé hello", addBos: false));
    }

    [Fact]
    public void Metaspace_pre_tokenizer_and_decoder_with_prepend_scheme_first()
    {
        using var fixture = new SyntheticTokenizerJson();
        fixture.Root["normalizer"] = null;
        fixture.Root["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "first", ["split"] = false };
        fixture.Root["decoder"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "first", ["split"] = false };
        var tokenizer = HuggingFaceTokenizer.Load(fixture.Write());

        Assert.Equal([fixture.Id("▁hello")], tokenizer.Encode("hello", addBos: false));
        // Only the piece at the start of the input gets the ▁; the one after <s> does not.
        var ids = tokenizer.EncodeWithSpecialTokens("hello<s>hello", addBos: false);
        Assert.Equal([fixture.Id("▁hello"), SyntheticTokenizerJson.Bos, fixture.Id("h"), fixture.Id("e"), fixture.Id("ll"), fixture.Id("o")], ids);
        Assert.Equal("hello world", tokenizer.Decode(tokenizer.Encode("hello world", addBos: false)));
    }

    [Fact]
    public void Metaspace_with_split_isolates_words_before_merging()
    {
        using var fixture = new SyntheticTokenizerJson();
        fixture.Root["normalizer"] = null;
        fixture.Root["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "always", ["split"] = true };
        fixture.Root["decoder"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "always", ["split"] = true };
        var tokenizer = HuggingFaceTokenizer.Load(fixture.Write());
        // "▁hello▁world" splits into "▁hello" and "▁world"; the second merges to ▁world only via "▁ wor" + "▁wor ld".
        var ids = tokenizer.Encode("hello world", addBos: false);
        Assert.Equal(fixture.Id("▁hello"), ids[0]);
        Assert.Equal("hello world", tokenizer.Decode(ids));
    }

    [Fact]
    public void Ignore_merges_takes_a_whole_word_from_the_vocabulary()
    {
        using var fixture = new SyntheticTokenizerJson();
        fixture.Root["normalizer"] = null;
        fixture.Root["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "always", ["split"] = true };
        // Without ignore_merges "▁world" becomes ▁ + world (the "w o" merges outrank "▁ wor").
        Assert.Equal([fixture.Id("▁"), fixture.Id("world")], HuggingFaceTokenizer.Load(fixture.Write()).Encode("world", addBos: false));
        fixture.Root["model"]!["ignore_merges"] = true;
        Assert.Equal([fixture.Id("▁world")], HuggingFaceTokenizer.Load(fixture.Write()).Encode("world", addBos: false));
    }
}
