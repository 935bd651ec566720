using CsCheck;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Tokenization;

public sealed class GgufVocabTokenizerTests
{
    private static GgufVocabTokenizer Gguf => Stories260K.GgufTokenizer;
    private static Llama2cTokenizer Bin => Stories260K.Tokenizer;

    [Fact]
    public void Gguf_metadata_describes_the_same_vocabulary_as_tok512()
    {
        Assert.Equal(512, Gguf.VocabSize);
        Assert.Equal(1, Gguf.BosTokenId);
        Assert.Equal(2, Gguf.EosTokenId);
        Assert.Equal(0, Gguf.UnknownTokenId);
        Assert.Equal("<s>", Gguf.TokenPiece(1));
        Assert.Equal("\u2581", Gguf.TokenPiece(410));
        for (int id = 0; id < 512; id++)
        {
            Assert.Equal(Bin.Score(id), Gguf.Score(id));
            Assert.Equal(Bin.IsControl(id), Gguf.IsControl(id));
            Assert.Equal(Bin.TokenBytes(id), Gguf.TokenBytes(id));
            Assert.Equal(Bin.TokenBytesAtTextStart(id), Gguf.TokenBytesAtTextStart(id));
        }
    }

    [Theory]
    [MemberData(nameof(LlamaGolden.CaseIndexes), MemberType = typeof(LlamaGolden))]
    public void Gguf_vocabulary_reproduces_the_golden_cases(int index)
    {
        var c = LlamaGolden.TokenizerCases[index];
        Assert.Equal(c.Ids, Gguf.Encode(c.Text, addBos: true));
        Assert.Equal(c.Decoded, Gguf.Decode(c.Ids));
    }

    [Fact]
    public void Gguf_vocabulary_encodes_the_tinystories_sample_like_tok512()
    {
        string text = Stories260K.SampleText;
        var ids = Gguf.Encode(text, addBos: true);
        Assert.Equal(Bin.Encode(text, addBos: true), ids);
        Assert.Equal(LlamaGolden.NllIds, ids.Take(257));
        Assert.Equal(LlamaGolden.GreedyText, Gguf.Decode(LlamaGolden.GreedyIds));
    }

    [Fact]
    public void Gguf_and_tok512_agree_on_random_text()
    {
        Llama2cTokenizerTests.InterestingText.Sample(text =>
            Assert.Equal(Bin.Encode(text, addBos: true), Gguf.Encode(text, addBos: true)), iter: 1000);
    }

    [Fact]
    public void Control_tokens_are_never_produced_from_text()
    {
        // Two-piece vocabulary where "<s>" as text could only merge into the control token if control pieces were matched.
        var tok = new GgufVocabTokenizer(["<unk>", "<s>", "</s>", "\u2581", "<", "s", ">", "<s"], [0, 0, 0, -1, -2, -3, -4, -5],
            [2, 3, 3, 1, 1, 1, 1, 1], 1, 2, 0);
        Assert.Equal([1, 3, 7, 6], tok.Encode("<s>", addBos: true));
        Assert.Equal("<s>", tok.Decode([1, 3, 7, 6]));
        Assert.Equal([3, 0, 0], tok.Encode("é", addBos: false)); // no byte tokens: both UTF-8 bytes fall back to <unk>
    }

    [Fact]
    public void Inconsistent_arrays_are_rejected_naming_the_key()
    {
        string[] tokens = ["<unk>", "<s>", "</s>"];
        Assert.Contains("tokenizer.ggml.scores", Assert.Throws<TokenizerException>(() => new GgufVocabTokenizer(tokens, [0, 0], [2, 3, 3], 1, 2, 0, "m.gguf")).Message);
        Assert.Contains("tokenizer.ggml.token_type", Assert.Throws<TokenizerException>(() => new GgufVocabTokenizer(tokens, [0, 0, 0], [2, 3], 1, 2, 0, "m.gguf")).Message);
        Assert.Contains("tokenizer.ggml.bos_token_id = 3", Assert.Throws<TokenizerException>(() => new GgufVocabTokenizer(tokens, [0, 0, 0], [2, 3, 3], 3, 2, 0, "m.gguf")).Message);
        Assert.Contains("<0xZZ>", Assert.Throws<TokenizerException>(() => new GgufVocabTokenizer(["<unk>", "<0xZZ>"], [0, 0], [2, 6], -1, -1, 0, "m.gguf")).Message);
        Assert.Contains("<0x00>", Assert.Throws<TokenizerException>(() => new GgufVocabTokenizer(["a"], [0], [1], -1, -1, -1, "m.gguf")).Message);
        Assert.Contains("empty", Assert.Throws<TokenizerException>(() => new GgufVocabTokenizer([], [], [], -1, -1, -1, "m.gguf")).Message);
        Assert.Throws<ArgumentNullException>(() => new GgufVocabTokenizer(null!, [], [], -1, -1, -1));
    }

    [Fact]
    public void Out_of_range_id_names_id_and_size()
    {
        var ex = Assert.Throws<TokenizerException>(() => Gguf.TokenPiece(512));
        Assert.Contains("512", ex.Message);
        Assert.Contains("stories260K.gguf", ex.Message);
        Assert.True(File.Exists(SharedAssets.Stories260KGguf));
    }
}
