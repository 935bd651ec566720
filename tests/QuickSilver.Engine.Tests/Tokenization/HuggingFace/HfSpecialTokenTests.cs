using System.Text.Json.Nodes;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Engine.Tests.Tokenization.HuggingFace;

/// <summary>added_tokens flags, tokenizer_config.json and generation_config.json.</summary>
public sealed class HfSpecialTokenTests
{
    private const int Tool = 300, Eot = 301, Eom = 302, Word = 303;

    private static SyntheticTokenizerJson WithAddedTokens()
    {
        var fixture = new SyntheticTokenizerJson();
        var added = fixture.Root["added_tokens"]!.AsArray();
        added.Add(SyntheticTokenizerJson.Added(Tool, "<tool>", special: false, lstrip: true, rstrip: true));
        added.Add(SyntheticTokenizerJson.Added(Eot, "<|eot_id|>", special: true));
        added.Add(SyntheticTokenizerJson.Added(Eom, "<|eom_id|>", special: true));
        added.Add(SyntheticTokenizerJson.Added(Word, "wd", special: false, singleWord: true));
        return fixture;
    }

    [Fact]
    public void Non_special_added_tokens_match_in_plain_text_with_lstrip_rstrip_and_single_word()
    {
        using var fixture = WithAddedTokens();
        var tokenizer = HuggingFaceTokenizer.Load(fixture.Write());
        // lstrip/rstrip: the spaces around <tool> belong to it.
        Assert.Equal([fixture.Id("▁hello"), Tool, fixture.Id("▁hello")], tokenizer.Encode("hello <tool> hello", addBos: false));
        // single_word: "wd" inside a word is text, alone it is the token.
        Assert.Contains(Word, tokenizer.Encode("hello wd", addBos: false));
        Assert.DoesNotContain(Word, tokenizer.Encode("hellowd", addBos: false));
        Assert.Equal("<tool>", tokenizer.Decode([Tool]));
        Assert.False(tokenizer.IsControl(Tool));
        // Special ones are text in Encode and tokens in EncodeWithSpecialTokens.
        Assert.DoesNotContain(Eot, tokenizer.Encode("hello<|eot_id|>", addBos: false));
        Assert.Equal([fixture.Id("▁hello"), Eot], tokenizer.EncodeWithSpecialTokens("hello<|eot_id|>", addBos: false));
    }

    [Fact]
    public void Stop_ids_collect_eos_end_of_turn_end_of_message_and_generation_config()
    {
        using var fixture = WithAddedTokens();
        var tokenizer = HuggingFaceTokenizer.Load(fixture.Write(
            tokenizerConfig: """{"bos_token": {"content": "<s>", "__type": "AddedToken"}, "eos_token": "</s>", "add_bos_token": false}""",
            generationConfig: """{"eos_token_id": [2, 301, 5]}"""));
        Assert.Equal(SyntheticTokenizerJson.Eos, tokenizer.EosTokenId);
        Assert.False(tokenizer.AddBosToken); // add_bos_token overrides the post-processor
        Assert.Equal([SyntheticTokenizerJson.Eos, 5, Eot, Eom], tokenizer.EndOfTurnTokenIds.Order());
        Assert.Contains(Eom, tokenizer.EndOfTurnTokenIds);
        Assert.Contains(5, tokenizer.EndOfTurnTokenIds);
    }

    [Fact]
    public void Chat_templates_string_list_and_jinja_file_forms()
    {
        using var fixture = new SyntheticTokenizerJson();
        var tokenizer = HuggingFaceTokenizer.Load(fixture.Write(tokenizerConfig:
            """{"chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}]}"""));
        Assert.Equal("D", tokenizer.ChatTemplate);
        Assert.Equal("T", tokenizer.NamedChatTemplates["tool_use"]);

        File.WriteAllText(Path.Combine(fixture.Folder, "chat_template.jinja"), "J");
        Assert.Equal("J", HuggingFaceTokenizer.Load(fixture.Folder).ChatTemplate);
    }

    [Fact]
    public void A_folder_with_only_tokenizer_json_loads_through_the_factory()
    {
        using var fixture = new SyntheticTokenizerJson();
        fixture.Write();
        Assert.IsType<HuggingFaceTokenizer>(TokenizerFactory.Load(fixture.Folder));
        Assert.IsType<HuggingFaceTokenizer>(TokenizerFactory.Load(fixture.TokenizerPath));
    }

    [Fact]
    public void Tokens_the_config_adds_on_top_of_tokenizer_json_are_added_as_transformers_adds_them()
    {
        using var fixture = new SyntheticTokenizerJson();
        var tokenizer = HuggingFaceTokenizer.Load(fixture.Write(tokenizerConfig: """
            {"added_tokens_decoder": {"1": {"content": "<s>", "special": true}, "310": {"content": "<extra>", "special": true, "normalized": false}},
             "additional_special_tokens": ["world"]}
            """));
        Assert.Equal(311, tokenizer.VocabSize);
        Assert.Equal([310], tokenizer.EncodeWithSpecialTokens("<extra>", addBos: false));
        Assert.True(tokenizer.IsControl(310));
        int world = fixture.Id("world");
        Assert.Contains(world, tokenizer.EncodeWithSpecialTokens("hello world", addBos: false));
        Assert.True(tokenizer.IsControl(world));
    }

    [Fact]
    public void A_config_token_whose_id_disagrees_with_the_vocabulary_is_an_error()
    {
        using var fixture = new SyntheticTokenizerJson();
        fixture.Write(tokenizerConfig: """{"added_tokens_decoder": {"305": {"content": "world", "special": true}}}""");
        var error = Assert.Throws<TokenizerException>(() => HuggingFaceTokenizer.Load(fixture.Folder));
        Assert.Contains("'world' id 305", error.Message);
        Assert.Contains("tokenizer_config.json", error.Message);
    }
}
