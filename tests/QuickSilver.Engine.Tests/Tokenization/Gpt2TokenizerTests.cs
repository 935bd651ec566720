using System.Text;
using CsCheck;
using Microsoft.ML.Tokenizers;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Tokenization;

public sealed class Gpt2TokenizerTests
{
    private static readonly Lazy<Gpt2Tokenizer> FromFolder = new(() => Gpt2Tokenizer.FromDirectory(SharedAssets.Gpt2TokenizerDir));
    private static readonly Lazy<Gpt2Tokenizer> FromPackage = new(Gpt2Tokenizer.FromDataPackage);

    public static IEnumerable<object[]> Paths() => [["folder"], ["package"]];

    private static Gpt2Tokenizer Get(string path) => path == "folder" ? FromFolder.Value : FromPackage.Value;

    /// <summary>
    /// Expected ids computed with OpenAI's gpt-2 src/encoder.py algorithm (a short Python port run on the shared
    /// vocab.json/merges.txt with the `regex` module), independent of Microsoft.ML.Tokenizers.
    /// </summary>
    public static IEnumerable<object[]> ReferenceCases() =>
    [
        ["Hello world", new[] { 15496, 995 }],
        [" the", new[] { 262 }],
        ["don't", new[] { 9099, 470 }],
        ["I'm sure they'll say we've done it.", new[] { 40, 1101, 1654, 484, 1183, 910, 356, 1053, 1760, 340, 13 }],
        ["The year 2024 had 366 days; 3.14159!", new[] { 464, 614, 48609, 550, 44856, 1528, 26, 513, 13, 1415, 19707, 0 }],
        ["a   b\n\nc\n", new[] { 64, 220, 220, 275, 198, 198, 66, 198 }],
        ["  leading and trailing  ", new[] { 220, 3756, 290, 25462, 220, 220 }],
        ["naïve café — “quoted” 😀🎉", new[] { 2616, 38776, 40304, 851, 564, 250, 421, 5191, 447, 251, 30325, 222, 8582, 236, 231 }],
        ["<|endoftext|>", new[] { 27, 91, 437, 1659, 5239, 91, 29 }],
        ["Ünïcödé ТЕКСТ 中文 العربية", new[] { 127, 250, 77, 26884, 66, 9101, 67, 2634, 12466, 95, 140, 243, 140, 248, 140, 94, 140, 95, 220, 40792, 23877, 229, 28981, 44690, 26897, 39848, 22654, 45632 }],
    ];

    [Theory]
    [MemberData(nameof(ReferenceCases))]
    public void Both_paths_match_the_reference_encoder(string text, int[] expected)
    {
        Assert.Equal(expected, FromFolder.Value.Encode(text, addBos: false));
        Assert.Equal(expected, FromPackage.Value.Encode(text, addBos: false));
        Assert.Equal([50256, .. expected], FromFolder.Value.Encode(text, addBos: true));
        Assert.Equal(text, FromFolder.Value.Decode(expected));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Vocabulary_shape_and_end_of_text(string path)
    {
        var tok = Get(path);
        Assert.Equal(50257, tok.VocabSize);
        Assert.Equal(50256, tok.BosTokenId);
        Assert.Equal(50256, tok.EosTokenId);
        Assert.True(tok.IsControl(50256));
        Assert.False(tok.IsControl(262));
        Assert.Empty(tok.TokenBytes(50256));
        Assert.Equal("<|endoftext|>", tok.TokenPiece(50256));
        Assert.Equal("Ġthe", tok.TokenPiece(262));
        Assert.Equal(" the"u8.ToArray(), tok.TokenBytes(262));
        Assert.Equal(" the"u8.ToArray(), tok.TokenBytesAtTextStart(262)); // byte-level BPE has no dummy prefix
        Assert.Equal("\n"u8.ToArray(), tok.TokenBytes(198));
        Assert.Equal(new byte[] { 0xE2, 0x80 }, tok.TokenBytes(447)); // half of a curly quote
        Assert.Equal("Hello world", tok.Decode([50256, 15496, 995, 50256]));
    }

    [Fact]
    public void Both_paths_have_identical_token_bytes_and_pieces_for_every_id()
    {
        for (int id = 0; id < 50257; id++)
        {
            Assert.Equal(FromFolder.Value.TokenBytes(id), FromPackage.Value.TokenBytes(id));
            Assert.Equal(FromFolder.Value.TokenPiece(id), FromPackage.Value.TokenPiece(id));
        }
    }

    [Fact]
    public void Both_paths_and_the_library_pre_tokenizer_agree_on_the_first_20KB_of_wikitext2()
    {
        string text = File.ReadAllText(SharedAssets.Path("data", "wikitext-2", "wiki.test.raw"))[..20_000];
        var folder = FromFolder.Value.Encode(text, addBos: false);
        Assert.Equal(folder, FromPackage.Value.Encode(text, addBos: false));
        // The library's own tiktoken pre-tokenizer on text without special tokens: same ids.
        Assert.Equal(folder, TiktokenTokenizer.CreateForModel("gpt2").EncodeToIds(text));
        Assert.Equal(text, FromFolder.Value.Decode(folder));
    }

    [Fact]
    public void Decode_matches_the_library_decoder_on_valid_utf8()
    {
        var library = TiktokenTokenizer.CreateForModel("gpt2");
        foreach (object[] c in ReferenceCases())
        {
            var ids = (int[])c[1];
            Assert.Equal(library.Decode(ids), FromPackage.Value.Decode(ids));
        }
    }

    /// <summary>Property: Decode(Encode(s)) == s for every string, with unpaired surrogates becoming U+FFFD.</summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void Encode_decode_round_trips_any_text(string path)
    {
        var tok = Get(path);
        var text = Gen.OneOf(Gen.String, Gen.String[Gen.Char["a \n\t'sdtm0123!?😀\ud83d\ude00\ud800\udc00é—<|>"], 0, 30], Gen.String.AlphaNumeric);
        text.Sample(s =>
        {
            string expected = TokenDecodingTestHelpers.Utf8RoundTrip(s);
            Assert.Equal(expected, tok.Decode(tok.Encode(s, addBos: false)));
            Assert.Equal(expected, tok.Decode(tok.Encode(s, addBos: true)));
        }, iter: 1500);
    }

    /// <summary>Property: the folder path, the package path and the library's own pre-tokenizer give the same ids.</summary>
    [Fact]
    public void Folder_package_and_library_agree_on_random_text()
    {
        var library = TiktokenTokenizer.CreateForModel("gpt2");
        var text = Gen.OneOf(Gen.String, Gen.String[Gen.Char["a \n\r\t\u00A0\u3000'sdtmlrev0123!?😀\ud83d\ude00é—"], 0, 40]);
        text.Sample(s =>
        {
            var ids = FromFolder.Value.Encode(s, addBos: false);
            Assert.Equal(ids, FromPackage.Value.Encode(s, addBos: false));
            Assert.Equal(ids, library.EncodeToIds(TokenDecodingTestHelpers.Utf8RoundTrip(s)));
        }, iter: 1500);
    }

    [Fact]
    public void Unpaired_surrogates_encode_as_the_replacement_character()
    {
        var tok = FromFolder.Value;
        Assert.Equal(tok.Encode("\uFFFDx", false), tok.Encode("\ud800x", false));
        Assert.Equal(tok.Encode("a\uFFFD", false), tok.Encode("a\udc00", false));
    }

    [Fact]
    public void Out_of_range_ids_name_the_id_and_size()
    {
        var ex = Assert.Throws<TokenizerException>(() => FromFolder.Value.Decode([50257]));
        Assert.Contains("50257", ex.Message);
        Assert.Contains("50256", ex.Message);
        Assert.Throws<TokenizerException>(() => FromPackage.Value.TokenBytes(-1));
    }

    [Fact]
    public void Missing_or_malformed_files_throw_tokenizer_exception_naming_the_file()
    {
        string dir = Directory.CreateTempSubdirectory("qs-gpt2-").FullName;
        try
        {
            string vocab = Path.Combine(dir, "vocab.json"), merges = Path.Combine(dir, "merges.txt");
            Assert.Contains(vocab, Assert.Throws<TokenizerException>(() => Gpt2Tokenizer.FromDirectory(dir)).Message);
            File.WriteAllText(merges, "#version: 0.2\nĠ t\n");
            File.WriteAllText(vocab, "[1, 2]");
            Assert.Contains(vocab, Assert.Throws<TokenizerException>(() => Gpt2Tokenizer.FromDirectory(dir)).Message);
            File.WriteAllText(vocab, "{\"a\": 0, \"b\": 5}");
            Assert.Contains("id 5", Assert.Throws<TokenizerException>(() => Gpt2Tokenizer.FromDirectory(dir)).Message);
            File.WriteAllText(vocab, "{\"a\": 0, \"b\": 1}");
            Assert.Contains("<|endoftext|>", Assert.Throws<TokenizerException>(() => Gpt2Tokenizer.FromDirectory(dir)).Message);
            File.WriteAllText(vocab, "{\"a\": 0, \" \": 1, \"<|endoftext|>\": 2}");
            Assert.Contains("byte-level alphabet", Assert.Throws<TokenizerException>(() => Gpt2Tokenizer.FromDirectory(dir)).Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_tiny_hand_made_byte_level_vocabulary_loads_and_merges()
    {
        string dir = Directory.CreateTempSubdirectory("qs-gpt2-").FullName;
        try
        {
            // All 256 byte symbols, then "Ġt" (merge 1) and "Ġth" (merge 2), then <|endoftext|>.
            var vocab = new Dictionary<string, int>();
            for (int b = 0; b < 256; b++) vocab[Gpt2AlphabetForTests.Char((byte)b).ToString()] = b;
            vocab["Ġt"] = 256;
            vocab["Ġth"] = 257;
            vocab["<|endoftext|>"] = 258;
            File.WriteAllText(Path.Combine(dir, "vocab.json"), System.Text.Json.JsonSerializer.Serialize(vocab));
            File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\nĠ t\nĠt h\n", new UTF8Encoding(false));
            var tok = Gpt2Tokenizer.FromDirectory(dir);
            Assert.Equal(259, tok.VocabSize);
            Assert.Equal(258, tok.EosTokenId);
            Assert.Equal([97, 257, 101], tok.Encode("a the", addBos: false)); // "a", then Ġ t h e -> Ġt -> Ġth, e
            Assert.Equal("a the", tok.Decode(tok.Encode("a the", false)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
