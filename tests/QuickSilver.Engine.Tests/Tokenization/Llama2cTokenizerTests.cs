using CsCheck;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Tokenization;

public sealed class Llama2cTokenizerTests
{
    private static Llama2cTokenizer Tok => Stories260K.Tokenizer;

    [Fact]
    public void Tok512_header_and_special_ids_match_the_readme()
    {
        Assert.Equal(512, Tok.VocabSize);
        Assert.Equal(7, Tok.MaxTokenLength);
        Assert.Equal(1, Tok.BosTokenId);
        Assert.Equal(2, Tok.EosTokenId);
        Assert.Equal("<unk>", Tok.TokenPiece(0));
        Assert.Equal("\n<s>\n", Tok.TokenPiece(1));
        Assert.Equal(" ", Tok.TokenPiece(410));
        Assert.Equal("<0x0A>", Tok.TokenPiece(13));
        Assert.True(Tok.IsByteToken(13));
        Assert.False(Tok.IsByteToken(410));
        Assert.Equal(-252f, Tok.Score(511));
    }

    [Theory]
    [MemberData(nameof(LlamaGolden.CaseIndexes), MemberType = typeof(LlamaGolden))]
    public void Encode_and_decode_reproduce_every_golden_tokenizer_case(int index)
    {
        var c = LlamaGolden.TokenizerCases[index];
        Assert.Equal(c.Ids, Tok.Encode(c.Text, addBos: true));
        Assert.Equal(c.Ids.Skip(1), Tok.Encode(c.Text, addBos: false));
        Assert.Equal(c.Decoded, Tok.Decode(c.Ids.Skip(1)));
        Assert.Equal(c.Decoded, Tok.Decode(c.Ids)); // BOS decodes to nothing and the same leading-space rule follows it
    }

    [Fact]
    public void Encode_reproduces_the_golden_prompts()
    {
        foreach (var prompt in LlamaGolden.Prompts)
        {
            Assert.Equal(prompt.Ids, Tok.Encode(prompt.Text, addBos: true));
            Assert.Equal(prompt.Text, Tok.Decode(prompt.Ids));
        }
    }

    [Fact]
    public void Whole_tinystories_sample_gives_the_golden_nll_ids_and_length()
    {
        Assert.EndsWith("tinystories_sample.txt", LlamaGolden.NllFile);
        var ids = Tok.Encode(Stories260K.SampleText, addBos: true);
        Assert.Equal(LlamaGolden.NllWholeFileTokens, ids.Count);
        Assert.Equal(1882, ids.Count);
        Assert.Equal(LlamaGolden.NllIds, ids.Take(257));
        Assert.Equal(Stories260K.SampleText, Tok.Decode(ids));
    }

    [Fact]
    public void Valid_excerpt_encodes_to_the_documented_length_and_round_trips()
    {
        string text = File.ReadAllText(SharedAssets.TinyStoriesValid);
        var ids = Tok.Encode(text, addBos: true);
        Assert.Equal(15555, ids.Count); // shared/goldens/README.md
        Assert.Equal(text, Tok.Decode(ids));
    }

    [Fact]
    public void Wikitext2_test_set_encodes_whole_and_round_trips()
    {
        string text = File.ReadAllText(SharedAssets.Path("data", "wikitext-2", "wiki.test.raw"));
        var ids = Tok.Encode(text, addBos: true);
        Assert.Equal(text, Tok.Decode(ids));
        Assert.All(ids, id => Assert.InRange(id, 0, 511));
    }

    [Fact]
    public void Greedy_golden_ids_decode_to_the_golden_text()
    {
        Assert.Equal(LlamaGolden.GreedyText, Tok.Decode(LlamaGolden.GreedyIds));
        Assert.Equal(LlamaGolden.GreedyText, Tok.Decode([1, .. LlamaGolden.GreedyIds]));
    }

    [Fact]
    public void Decode_strips_one_leading_space_only_at_the_start_and_after_bos()
    {
        // 410 = " ", 261 = " a"; 35 = <0x20> is a byte token and is never stripped.
        Assert.Equal("a", Tok.Decode([261]));
        Assert.Equal(" a", Tok.Decode([410, 261]));
        Assert.Equal("  a a", Tok.Decode([35, 261, 261])); // the byte token keeps its space, 261 adds its own
        Assert.Equal("aa", Tok.Decode([261, 1, 261])); // after a BOS in the middle: stripped again
        Assert.Equal("a a", Tok.Decode([261, 2, 261])); // EOS decodes to nothing and does not strip
        Assert.Equal("a", Tok.Decode([1, 1, 261]));
        Assert.Equal(" a"u8.ToArray(), Tok.TokenBytes(261));
        Assert.Equal("a"u8.ToArray(), Tok.TokenBytesAtTextStart(261));
        Assert.Equal([0x20], Tok.TokenBytesAtTextStart(35));
        Assert.Empty(Tok.TokenBytes(1));
        Assert.Empty(Tok.TokenBytes(2));
        Assert.True(Tok.IsControl(1));
        Assert.True(Tok.IsControl(2));
        Assert.False(Tok.IsControl(0));
        Assert.Equal("<unk>", Tok.Decode([0]));
    }

    [Fact]
    public void Byte_tokens_decode_to_raw_bytes_and_invalid_utf8_becomes_replacement_characters()
    {
        Assert.Equal("😀", Tok.Decode([243, 162, 155, 131])); // F0 9F 98 80
        Assert.Equal("\uFFFD", Tok.Decode([243, 162])); // truncated sequence
        Assert.Equal("\uFFFDa", Tok.Decode([3 + 0xFF, 3 + 'a']));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(512)]
    [InlineData(int.MaxValue)]
    public void Out_of_range_ids_throw_naming_the_id_and_vocab_size(int id)
    {
        foreach (Action act in new Action[]
        {
            () => Tok.Decode([5, id]), () => Tok.TokenBytes(id), () => Tok.TokenBytesAtTextStart(id),
            () => Tok.TokenPiece(id), () => Tok.IsControl(id), () => Tok.Score(id),
        })
        {
            var ex = Assert.Throws<TokenizerException>(act);
            Assert.Contains(id.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message);
            Assert.Contains("512", ex.Message);
            Assert.Contains("tok512.bin", ex.Message);
        }
    }

    [Fact]
    public void Encode_rejects_null()
    {
        Assert.Throws<ArgumentNullException>(() => Tok.Encode(null!, true));
        Assert.Throws<ArgumentNullException>(() => Tok.Decode(null!));
    }

    /// <summary>Strings drawn from pieces of the vocabulary mixed with spaces, newlines, non-ASCII and random chars.</summary>
    internal static readonly Gen<string> InterestingText = Gen.OneOf(
        Gen.String[Gen.Char["ab tehsoi.,\n'\"“”é\u00A0"], 0, 40],
        Gen.String,
        Gen.Select(Gen.OneOf<string>("the", " ", "  ", "\n", "ing", "é", "😀", "<0x41>", "\ud800", "Lily", ".", "\r\n", "a")
            .Array[0, 12], parts => string.Concat(parts)));

    [Fact]
    public void Priority_queue_encoder_equals_the_naive_run_c_port_on_random_text()
    {
        var reference = new RunCReference(SharedAssets.Stories260KTokenizer);
        InterestingText.Sample(text => Assert.Equal(reference.Encode(text, bos: true), Tok.Encode(text, addBos: true)), iter: 2000);
    }

    [Fact]
    public void Priority_queue_encoder_equals_the_naive_run_c_port_on_tinystories_lines()
    {
        var reference = new RunCReference(SharedAssets.Stories260KTokenizer);
        foreach (string line in Stories260K.SampleText.Split('\n').Take(40))
        {
            Assert.Equal(reference.Encode(line, bos: true), Tok.Encode(line, addBos: true));
        }
    }

    /// <summary>
    /// Property: for every string s, Decode(Encode(s, addBos)) == s' where s' is s with each unpaired surrogate replaced
    /// by U+FFFD (what UTF-8 can carry). There is no leading-space ambiguity because the encoder always adds the dummy
    /// prefix that the decoder strips, and leading spaces of s itself become further " " pieces.
    /// </summary>
    [Fact]
    public void Decode_of_encode_restores_any_text()
    {
        InterestingText.Sample(text =>
        {
            string expected = TokenDecodingTestHelpers.Utf8RoundTrip(text);
            Assert.Equal(expected, Tok.Decode(Tok.Encode(text, addBos: true)));
            Assert.Equal(expected, Tok.Decode(Tok.Encode(text, addBos: false)));
        }, iter: 2000);
    }
}
