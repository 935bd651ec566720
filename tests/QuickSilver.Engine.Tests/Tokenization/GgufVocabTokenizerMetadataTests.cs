using QuickSilver.Engine.Tokenization;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Tokenization;

public sealed class GgufVocabTokenizerMetadataTests
{
    [Fact]
    public void From_metadata_dictionary_equals_the_array_constructor()
    {
        var meta = TestGgufMetadata.Read(SharedAssets.Stories260KGguf);
        var tok = GgufVocabTokenizer.FromMetadata(meta.Values, "stories260K.gguf");
        Assert.Equal(512, tok.VocabSize);
        Assert.Equal((1, 2, 0), (tok.BosTokenId, tok.EosTokenId, tok.UnknownTokenId));
        foreach (var c in LlamaGolden.TokenizerCases)
        {
            Assert.Equal(c.Ids, tok.Encode(c.Text, addBos: true));
        }
    }

    [Fact]
    public void From_metadata_reports_missing_and_mistyped_keys()
    {
        var meta = new Dictionary<string, object>(TestGgufMetadata.Read(SharedAssets.Stories260KGguf).Values);
        meta["tokenizer.ggml.bos_token_id"] = 4294967295u;
        Assert.Equal(-1, GgufVocabTokenizer.FromMetadata(meta).BosTokenId);

        meta["tokenizer.ggml.model"] = "gpt2";
        Assert.Contains("tokenizer.ggml.model", Assert.Throws<TokenizerException>(() => GgufVocabTokenizer.FromMetadata(meta, "x.gguf")).Message);
        meta["tokenizer.ggml.model"] = "llama";
        meta["tokenizer.ggml.scores"] = "nope";
        Assert.Contains("tokenizer.ggml.scores", Assert.Throws<TokenizerException>(() => GgufVocabTokenizer.FromMetadata(meta, "x.gguf")).Message);
        meta["tokenizer.ggml.scores"] = new object[] { "a" };
        Assert.Contains("index 0", Assert.Throws<TokenizerException>(() => GgufVocabTokenizer.FromMetadata(meta, "x.gguf")).Message);
        meta.Remove("tokenizer.ggml.tokens");
        Assert.Contains("tokenizer.ggml.tokens is missing", Assert.Throws<TokenizerException>(() => GgufVocabTokenizer.FromMetadata(meta, "x.gguf")).Message);
    }
}
