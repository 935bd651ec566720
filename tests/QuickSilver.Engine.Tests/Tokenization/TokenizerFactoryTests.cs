using QuickSilver.Engine.Tokenization;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Tokenization;

public sealed class TokenizerFactoryTests
{
    [Fact]
    public void Picks_the_tokenizer_by_file_and_folder()
    {
        var tok512 = Assert.IsType<Llama2cTokenizer>(TokenizerFactory.Load(SharedAssets.Stories260KTokenizer));
        Assert.Equal(512, tok512.VocabSize);
        Assert.IsType<Llama2cTokenizer>(TokenizerFactory.Load(Path.Combine(SharedAssets.Llama2TokenizerDir, "tokenizer.bin")));
        Assert.IsType<SentencePieceTokenizer>(TokenizerFactory.Load(Path.Combine(SharedAssets.Llama2TokenizerDir, "tokenizer.model")));
        Assert.IsType<SentencePieceTokenizer>(TokenizerFactory.Load(SharedAssets.Llama2TokenizerDir)); // tokenizer.model preferred
        Assert.IsType<Gpt2Tokenizer>(TokenizerFactory.Load(SharedAssets.Gpt2TokenizerDir));
        Assert.IsType<Gpt2Tokenizer>(TokenizerFactory.Load(Path.Combine(SharedAssets.Gpt2TokenizerDir, "vocab.json")));
        var package = Assert.IsType<Gpt2Tokenizer>(TokenizerFactory.Load("gpt2"));
        Assert.Equal([15496, 995], package.Encode("Hello world", addBos: false));
        Assert.IsType<Gpt2Tokenizer>(TokenizerFactory.Load("GPT2"));
    }

    [Fact]
    public void Missing_unknown_and_corrupt_inputs_throw_tokenizer_exception_naming_the_file()
    {
        string dir = Directory.CreateTempSubdirectory("qs-factory-").FullName;
        try
        {
            string missing = Path.Combine(dir, "tok999.bin");
            Assert.Contains(missing, Assert.Throws<TokenizerException>(() => TokenizerFactory.Load(missing)).Message);

            Assert.Contains(dir, Assert.Throws<TokenizerException>(() => TokenizerFactory.Load(dir)).Message);

            string unknown = Path.Combine(dir, "weights.safetensors");
            File.WriteAllBytes(unknown, [1, 2, 3]);
            Assert.Contains("not a recognized tokenizer file", Assert.Throws<TokenizerException>(() => TokenizerFactory.Load(unknown)).Message);

            string truncated = Path.Combine(dir, "tok512.bin");
            File.WriteAllBytes(truncated, File.ReadAllBytes(SharedAssets.Stories260KTokenizer)[..1000]);
            Assert.Contains("tok512.bin", Assert.Throws<TokenizerException>(() => TokenizerFactory.Load(truncated)).Message);

            string corruptModel = Path.Combine(dir, "tokenizer.model");
            File.WriteAllText(corruptModel, "not a protobuf");
            Assert.Contains(corruptModel, Assert.Throws<TokenizerException>(() => TokenizerFactory.Load(dir)).Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        Assert.Throws<ArgumentNullException>(() => TokenizerFactory.Load(null!));
        Assert.Throws<ArgumentException>(() => TokenizerFactory.Load(" "));
    }
}
