using QuickSilver.Engine.Tokenization.HuggingFace;

namespace QuickSilver.Engine.Tests.Tokenization.HuggingFace;

/// <summary>Split behaviours on the tokenizers library's own example ("the-final--countdown" split on "-").</summary>
public sealed class HfSplitTests
{
    [Theory]
    [InlineData("Removed", false, "the|final|countdown")]
    [InlineData("Isolated", false, "the|-|final|-|-|countdown")]
    [InlineData("MergedWithPrevious", false, "the-|final-|-|countdown")]
    [InlineData("MergedWithNext", false, "the|-final|-|-countdown")]
    [InlineData("Contiguous", false, "the|-|final|--|countdown")]
    [InlineData("Removed", true, "-|-|-")]
    [InlineData("Isolated", true, "the|-|final|-|-|countdown")]
    public void Behaviours_match_the_reference(string behaviorName, bool invert, string expected)
    {
        var behavior = HfSplit.ParseBehavior(behaviorName, "test");
        var pattern = HfPattern.Literal("-");
        string text = "the-final--countdown";
        var output = new List<TextPiece>();
        HfSplit.Split(new TextPiece(text, AtStart: true), pattern.Matches(text), invert, behavior, output);
        Assert.Equal(expected, string.Join("|", output.Select(p => p.Text)));
        Assert.Equal(!(invert && behavior == SplitBehavior.Removed), output[0].AtStart); // only a piece at offset 0 is at the start
        Assert.All(output.Skip(1), p => Assert.False(p.AtStart));
    }

    [Theory]
    [InlineData(false, "abc|123|def|4")]
    [InlineData(true, "abc|1|2|3|def|4")]
    public void Digits_pre_tokenizer_isolates_runs_or_single_digits(bool individual, string expected)
    {
        var digits = new HfPreTokenizers.DigitsPreTokenizer(individual);
        Assert.Equal(expected, string.Join("|", digits.PreTokenize([new TextPiece("abc123def4", true)]).Select(p => p.Text)));
    }

    [Fact]
    public void Regex_split_matches_supplementary_characters_as_single_code_points()
    {
        // .NET alone sees 𝐀 (U+1D400, a letter) as two surrogates, so \p{L}+ would stop before it.
        var pattern = HfPattern.Regex(@"\p{L}+|[^\s\p{L}\p{N}]+|\s+", "test");
        string text = "a𝐀b 😀!";
        Assert.Equal(["a𝐀b", " ", "😀!"], pattern.Matches(text).Select(m => text.Substring(m.Start, m.Length)));
        // Possessive quantifiers (Oniguruma) become atomic groups.
        var possessive = HfPattern.Regex(@"[^\r\n\p{L}\p{N}]?+\p{L}+", "test");
        Assert.Equal(["Hi", " there"], possessive.Matches("Hi there").Select(m => "Hi there".Substring(m.Start, m.Length)));
    }

    [Theory]
    [InlineData("""{"type": "Whitespace"}""", "Hey|friend|!|How|are|you|?!?")]
    [InlineData("""{"type": "WhitespaceSplit"}""", "Hey|friend!|How|are|you?!?")]
    [InlineData("""{"type": "Punctuation"}""", "Hey friend|!|     How are you|?|!|?")]
    [InlineData("""{"type": "Punctuation", "behavior": "Contiguous"}""", "Hey friend|!|     How are you|?!?")]
    [InlineData("""{"type": "BertPreTokenizer"}""", "Hey|friend|!|How|are|you|?|!|?")]
    [InlineData("""{"type": "CharDelimiterSplit", "delimiter": " "}""", "Hey|friend!|How|are|you?!?")]
    public void Character_class_pre_tokenizers_match_the_reference_examples(string json, string expected)
    {
        using var document = System.Text.Json.JsonDocument.Parse(json);
        var preTokenizer = HfPreTokenizers.Parse(document.RootElement, "test")!;
        var pieces = preTokenizer.PreTokenize([new TextPiece("Hey friend!     How are you?!?", true)]);
        Assert.Equal(expected, string.Join("|", pieces.Select(p => p.Text)));
    }
}
