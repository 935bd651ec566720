using QuickSilver.Engine.Tokenization;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Tokenization;

/// <summary>Tokenizers over the shared stories260K and Llama 2 files, loaded once per test run.</summary>
internal static class Stories260K
{
    private static readonly Lazy<Llama2cTokenizer> Tok512 = new(() => Llama2cTokenizer.Load(SharedAssets.Stories260KTokenizer));
    private static readonly Lazy<GgufVocabTokenizer> Gguf = new(() =>
    {
        var meta = TestGgufMetadata.Read(SharedAssets.Stories260KGguf);
        return new GgufVocabTokenizer(
            meta.GetStrings("tokenizer.ggml.tokens"),
            meta.GetFloats("tokenizer.ggml.scores"),
            meta.GetInts("tokenizer.ggml.token_type"),
            (int)meta.GetUInt32("tokenizer.ggml.bos_token_id"),
            (int)meta.GetUInt32("tokenizer.ggml.eos_token_id"),
            (int)meta.GetUInt32("tokenizer.ggml.unknown_token_id"),
            SharedAssets.Stories260KGguf);
    });
    private static readonly Lazy<Llama2cTokenizer> Llama2Bin = new(() =>
        Llama2cTokenizer.Load(Path.Combine(SharedAssets.Llama2TokenizerDir, "tokenizer.bin")));

    public static Llama2cTokenizer Tokenizer => Tok512.Value;

    public static GgufVocabTokenizer GgufTokenizer => Gguf.Value;

    public static Llama2cTokenizer Llama2TokenizerBin => Llama2Bin.Value;

    public static string SampleText => File.ReadAllText(SharedAssets.TinyStoriesSample);
}
