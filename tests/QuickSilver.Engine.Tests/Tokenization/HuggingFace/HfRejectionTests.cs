using System.Text.Json.Nodes;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Engine.Tests.Tokenization.HuggingFace;

/// <summary>Everything tokenizer.json can say that this library does not reproduce is refused with its name and the file.</summary>
public sealed class HfRejectionTests
{
    public static TheoryData<string, string, string> Unsupported => new()
    {
        { "model", """{"type": "WordPiece", "vocab": {}}""", "model type 'WordPiece'" },
        { "model", """{"type": "Unigram", "vocab": []}""", "model type 'Unigram'" },
        { "normalizer", """{"type": "Precompiled", "precompiled_charsmap": ""}""", "normalizer type 'Precompiled'" },
        { "normalizer", """{"type": "BertNormalizer"}""", "normalizer type 'BertNormalizer'" },
        { "pre_tokenizer", """{"type": "UnicodeScripts"}""", "pre_tokenizer type 'UnicodeScripts'" },
        { "pre_tokenizer", """{"type": "Sequence", "pretokenizers": [{"type": "FixedLength", "length": 5}]}""", "pre_tokenizer type 'FixedLength'" },
        { "pre_tokenizer", """{"type": "CharDelimiterSplit", "delimiter": "ab"}""", "delimiter must be one character" },
        { "pre_tokenizer", """{"type": "Punctuation", "behavior": "Nowhere"}""", "split behavior 'Nowhere'" },
        { "pre_tokenizer", """{"type": "Split", "pattern": {"Regex": "(?<=a"}, "behavior": "Isolated", "invert": false}""", "(?<=a" },
        { "pre_tokenizer", """{"type": "Split", "pattern": {"Regex": "a"}, "behavior": "Sideways", "invert": false}""", "split behavior 'Sideways'" },
        { "pre_tokenizer", """{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "sometimes"}""", "prepend_scheme 'sometimes'" },
        { "decoder", """{"type": "WordPiece", "prefix": "##"}""", "decoder type 'WordPiece'" },
        { "decoder", """{"type": "Sequence", "decoders": [{"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 0, "stop": 1}]}""", "Strip with stop = 1" },
        { "post_processor", """{"type": "BertProcessing", "sep": ["[SEP]", 1], "cls": ["[CLS]", 0]}""", "post_processor type 'BertProcessing'" },
        { "post_processor", """{"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<nope>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]}""", "'<nope>'" },
    };

    [Theory]
    [MemberData(nameof(Unsupported))]
    public void Unsupported_components_throw_naming_the_component_and_the_file(string field, string json, string expected)
    {
        using var fixture = new SyntheticTokenizerJson();
        fixture.Root[field] = JsonNode.Parse(json);
        string path = fixture.Write();
        var error = Assert.Throws<TokenizerException>(() => HuggingFaceTokenizer.Load(path));
        Assert.Contains(expected, error.Message);
        Assert.Contains(path, error.Message);
    }

    [Theory]
    [InlineData("dropout", "0.1", "dropout")]
    [InlineData("continuing_subword_prefix", "\"##\"", "continuing_subword_prefix")]
    [InlineData("end_of_word_suffix", "\"</w>\"", "end_of_word_suffix")]
    [InlineData("unk_token", "\"<nope>\"", "unk_token '<nope>'")]
    [InlineData("merges", "[\"h e\"]", "merge 0 'h e'")]
    [InlineData("merges", "[\"a b c\"]", "merges[0]")]
    [InlineData("merges", "[[\"a\"]]", "merges[0]")]
    [InlineData("vocab", "[]", "model.vocab")]
    public void Model_fields_that_change_the_maths_are_implemented_or_refused(string field, string json, string expected)
    {
        using var fixture = new SyntheticTokenizerJson();
        fixture.Root["model"]![field] = JsonNode.Parse(json);
        string path = fixture.Write();
        Assert.Contains(expected, Assert.Throws<TokenizerException>(() => HuggingFaceTokenizer.Load(path)).Message);
    }

    [Theory]
    [InlineData("tokenizer_config.json", """{"add_bos_token": "yes"}""", "add_bos_token")]
    [InlineData("tokenizer_config.json", """{"bos_token": 5}""", "bos_token")]
    [InlineData("tokenizer_config.json", """{"chat_template": [{"name": "x"}]}""", "chat_template")]
    [InlineData("tokenizer_config.json", "{oops", "invalid JSON")]
    [InlineData("generation_config.json", """{"eos_token_id": "2"}""", "eos_token_id")]
    [InlineData("generation_config.json", """{"eos_token_id": [2, 99999]}""", "99999")]
    public void Bad_side_files_throw_naming_the_file_and_field(string file, string content, string expected)
    {
        using var fixture = new SyntheticTokenizerJson();
        fixture.Write();
        string side = Path.Combine(fixture.Folder, file);
        File.WriteAllText(side, content);
        var error = Assert.Throws<TokenizerException>(() => HuggingFaceTokenizer.Load(fixture.Folder));
        Assert.Contains(expected, error.Message);
        Assert.Contains(file, error.Message);
    }

    [Fact]
    public void Missing_and_malformed_files_throw()
    {
        using var fixture = new SyntheticTokenizerJson();
        Assert.Contains("not found", Assert.Throws<TokenizerException>(() => HuggingFaceTokenizer.Load(fixture.TokenizerPath)).Message);
        File.WriteAllText(fixture.TokenizerPath, "{\"version\": \"1.0\"}");
        Assert.Contains("no 'model' object", Assert.Throws<TokenizerException>(() => HuggingFaceTokenizer.Load(fixture.TokenizerPath)).Message);
        File.WriteAllText(fixture.TokenizerPath, "{");
        Assert.Contains("invalid JSON", Assert.Throws<TokenizerException>(() => HuggingFaceTokenizer.Load(fixture.TokenizerPath)).Message);
    }
}
