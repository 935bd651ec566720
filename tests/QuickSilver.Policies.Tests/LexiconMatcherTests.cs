using QuickSilver.Policies;

namespace QuickSilver.Policies.Tests;

public class LexiconMatcherTests
{
    private static readonly LexiconMatcher Negations = new(BuiltInLexicons.Negations);

    [Fact]
    public void Negative_clitic_token_is_protected()
    {
        string[] tokens = ["I", " do", "n't", " like", " it"];
        Assert.Equal([2], Negations.Match(tokens));
    }

    [Fact]
    public void Clitic_inside_a_token_covers_that_token()
    {
        string[] tokens = ["It", " doesn", "'t", " work"];
        Assert.Equal([1, 2], Negations.Match(tokens));
    }

    [Fact]
    public void Typographic_apostrophe_matches()
    {
        string[] tokens = ["I", " don", "’t", " know"];
        Assert.Equal([1, 2], Negations.Match(tokens));
    }

    [Fact]
    public void Phrase_split_across_tokens_covers_all_of_them()
    {
        var matcher = new LexiconMatcher(["get_weather"]);
        string[] tokens = ["Call", " get", "_", "weather", "(", "city", ")"];
        Assert.Equal([1, 2, 3], matcher.Match(tokens));
    }

    [Fact]
    public void Word_entries_need_word_boundaries()
    {
        var matcher = new LexiconMatcher(["not", "get_weather"]);
        string[] tokens = [" nothing", " knot", " not", "!", " forget_weather", " cannot"];
        Assert.Equal([2], matcher.Match(tokens));
    }

    [Fact]
    public void Digits_need_boundaries_too()
    {
        var matcher = new LexiconMatcher(["5"]);
        Assert.Equal([2], matcher.Match(["15", " ", "5", " x5", " 5a"]));
    }

    [Fact]
    public void Matching_is_case_insensitive()
    {
        var matcher = new LexiconMatcher(["NOT", "einstein"]);
        Assert.Equal([1, 3], matcher.Match(["It", " Not", " by", " EINSTEIN"]));
    }

    [Fact]
    public void Space_in_a_phrase_matches_any_whitespace_character()
    {
        var matcher = new LexiconMatcher(["as a result"]);
        string[] tokens = ["as", "\n", "a", "\t", "result", " today"];
        Assert.Equal([0, 1, 2, 3, 4], matcher.Match(tokens));
    }

    [Fact]
    public void Punctuation_entries_match_anywhere()
    {
        var json = new LexiconMatcher(BuiltInLexicons.JsonStructure);
        string[] tokens = ["{\"", "name", "\":", " \"", "Bob", "\"}"];
        Assert.Equal([0, 2, 3, 5], json.Match(tokens));
    }

    [Fact]
    public void Trailing_wildcard_drops_the_end_boundary()
    {
        var matcher = new LexiconMatcher(["neg*"]);
        Assert.Equal([0, 1], matcher.Match([" ne", "gative", " renege"]));
    }

    [Fact]
    public void Empty_tokens_are_never_covered()
    {
        var matcher = new LexiconMatcher(["not"]);
        Assert.Equal([1], matcher.Match(["", "not", ""]));
        Assert.Equal([false, true, false], matcher.CoverageMask(["", "not", ""]));
    }

    [Fact]
    public void Overlapping_occurrences_are_all_found()
    {
        var matcher = new LexiconMatcher(["a a"]);
        Assert.Equal([0, 1, 2], matcher.Match(["a", " a", " a", " b"]));
    }

    [Fact]
    public void No_entries_or_no_tokens_match_nothing()
    {
        Assert.Empty(new LexiconMatcher([]).Match(["not"]));
        Assert.Empty(Negations.Match([]));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("*")]
    [InlineData("**")]
    public void Blank_entries_are_rejected(string entry) =>
        Assert.Throws<ArgumentException>(() => new LexiconMatcher([entry]));

    [Fact]
    public void Null_token_is_rejected() =>
        Assert.Throws<ArgumentException>(() => Negations.Match(["a", null!]));

    [Fact]
    public void Duplicate_entries_are_counted_once() =>
        Assert.Equal(2, new LexiconMatcher(["not", "NOT", " not ", "no"]).Count);

    [Fact]
    public void Full_processing_matcher_follows_the_policy_switches()
    {
        string[] tokens = ["{\"", "x", "\":", " not", " Einstein"];
        var lexicons = new TokenLexicons { FullProcessing = ["Einstein"], ProtectNegations = true, ProtectJsonStructure = true };
        Assert.Equal([0, 2, 3, 4], LexiconMatcher.ForFullProcessing(lexicons).Match(tokens));

        lexicons.ProtectJsonStructure = false;
        Assert.Equal([3, 4], LexiconMatcher.ForFullProcessing(lexicons).Match(tokens));

        lexicons.ProtectNegations = false;
        Assert.Equal([4], LexiconMatcher.ForFullProcessing(lexicons).Match(tokens));
    }

    [Fact]
    public void Quantization_override_matcher_includes_full_processing()
    {
        var lexicons = new TokenLexicons { QuantizationOverride = ["pi"], FullProcessing = ["Einstein"], ProtectNegations = true, ProtectJsonStructure = false };
        Assert.Equal([0, 1, 3], LexiconMatcher.ForQuantizationOverride(lexicons).Match(["pi", " never", " pie", " Einstein"]));
    }

    [Fact]
    public void Forced_halt_matcher_uses_only_forced_halt_words()
    {
        var lexicons = new TokenLexicons { ForcedHalt = ["the"], FullProcessing = ["cat"] };
        Assert.Equal([0], LexiconMatcher.ForForcedHalt(lexicons).Match(["The", " cat", " not"]));
    }

    [Fact]
    public void Built_in_negations_cover_the_paper_examples()
    {
        foreach (var word in new[] { "not", "no", "never", "nor", "none", "nothing", "nobody", "neither", "cannot", "without" })
        {
            Assert.Equal([1], Negations.Match(["x", " " + word, " y"]));
        }
    }

    [Fact]
    public void Causal_coverage_decides_each_token_from_it_and_earlier_tokens_only()
    {
        var matcher = new LexiconMatcher(["not", "get_weather", "no one"]);
        string[] tokens = ["I", " did", " not", "e", " get", "_we", "ather", " no", " one"];
        var causal = matcher.CausalCoverageMask(tokens);
        // Each position equals what the matcher says about the last token of its own prefix.
        for (int i = 0; i < tokens.Length; i++)
        {
            Assert.Equal(matcher.CausalCoverageMask(tokens[..(i + 1)])[i], causal[i]);
            Assert.Equal(matcher.CoverageMask(tokens[..(i + 1)])[i], causal[i]);
        }
        // " not" is covered at its own time even though the next token makes "note"; a phrase covers its last token when it completes.
        Assert.Equal([false, false, true, false, false, false, true, false, true], causal);
        // The full-text view revisits earlier tokens: "note" is no negation, and every piece of the tool name is covered.
        Assert.Equal([false, false, false, false, true, true, true, true, true], matcher.CoverageMask(tokens));
    }
}
