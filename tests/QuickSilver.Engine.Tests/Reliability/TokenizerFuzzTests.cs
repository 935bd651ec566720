using System.Text;
using System.Text.Json;
using CsCheck;
using QuickSilver.Engine.Tests.Tokenization;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Testing;

namespace QuickSilver.Engine.Tests.Reliability;

/// <summary>
/// Tokenizer files ship with downloaded models: mutated GPT-2 vocab.json/merges.txt, SentencePiece .model files and GGUF tokenizer
/// metadata must load (and then encode and decode without error) or throw <see cref="TokenizerException"/>, nothing else.
/// (tok.bin is covered by the llama2.c tokenizer tests.)
/// </summary>
public sealed class TokenizerFuzzTests : IDisposable
{
    public const int Gpt2Cases = 400;
    public const int SentencePieceCases = 150;
    public const int GgufMetadataCases = 400;

    private readonly string _dir = Directory.CreateTempSubdirectory("qs-tok-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Probe = "Hello, wörld! 123 \t\n日本 <|endoftext|> <s> \uD83D\uDE00";

    private static void Exercise(ITokenizer tokenizer)
    {
        IReadOnlyList<int> ids = tokenizer.Encode(Probe, addBos: true);
        Assert.All(ids, id => Assert.InRange(id, 0, tokenizer.VocabSize - 1));
        tokenizer.Decode(ids);
        for (int id = 0; id < Math.Min(tokenizer.VocabSize, 300); id++) tokenizer.TokenPiece(id);
        Assert.Throws<TokenizerException>(() => tokenizer.TokenPiece(tokenizer.VocabSize));
    }

    private static void LoadsOrTokenizerException(Func<ITokenizer> load)
    {
        try
        {
            Exercise(load());
        }
        catch (TokenizerException)
        {
        }
    }

    private static byte[] Splice(byte[] source, (int Kind, int At, byte[] Noise) edit)
    {
        int at = edit.At % (source.Length + 1);
        return edit.Kind switch
        {
            0 => [.. source[..at]],                                                      // truncate
            1 => [.. source[..at], .. edit.Noise, .. source[at..]],                      // insert
            2 => [.. source[..at], .. edit.Noise, .. source[Math.Min(source.Length, at + edit.Noise.Length)..]], // overwrite
            _ => [.. source[..at], .. source[Math.Min(source.Length, at + 1 + edit.Noise.Length)..]], // delete
        };
    }

    private static readonly string[] MergeNoise = ["\n", " ", "a b c\n", "Ġ\n", " x\n", "\n\n", "zz qq\n", "\u00ff\u00fe ab\n"];

    private static readonly byte[][] ProtobufNoise =
    [
        [0xFF, 0xFF, 0xFF, 0xFF, 0x0F], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], [0x0A], [0x12, 0x7F], [0x1A, 0x00],
        [0x22, 0xFF, 0x7F], [0x00], [0x80],
    ];

    private static readonly string[] JsonNoise = ["\"", "{", "}", ":", ",", "-1", "2147483648", "1e9", "null", "[]", "\"<|endoftext|>\":", "\\u0000", "\\ud800", "\"Ġ\":7,"];

    [Fact]
    public void Gpt2_MutatedVocabAndMerges_LoadOrThrowTokenizerException()
    {
        var vocab = new Dictionary<string, int>();
        for (int b = 0; b < 256; b++) vocab[Gpt2AlphabetForTests.Char((byte)b).ToString()] = b;
        string[] merges = ["Ġ t", "Ġt h", "h e", "Ġth e", "l l", "o ,"];
        foreach (string merge in merges) vocab.TryAdd(merge.Replace(" ", ""), vocab.Count);
        vocab["<|endoftext|>"] = vocab.Count;
        byte[] vocabBytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(vocab));
        byte[] mergeBytes = Encoding.UTF8.GetBytes("#version: 0.2\n" + string.Join("\n", merges) + "\n");
        string vocabPath = Path.Combine(_dir, "vocab.json"), mergesPath = Path.Combine(_dir, "merges.txt");
        File.WriteAllBytes(vocabPath, vocabBytes);
        File.WriteAllBytes(mergesPath, mergeBytes);
        Exercise(Gpt2Tokenizer.FromFiles(vocabPath, mergesPath));

        Gen<(int, int, byte[])> edit = Gen.Select(Gen.Int[0, 3], Gen.Int[0, 8000], Gen.OneOf(
            Gen.Byte.Array[1, 8],
            Gen.Int[0, JsonNoise.Length - 1].Select(i => Encoding.UTF8.GetBytes(JsonNoise[i])),
            Gen.Int[0, MergeNoise.Length - 1].Select(i => Encoding.UTF8.GetBytes(MergeNoise[i]))));
        Gen.Select(Gen.Bool, edit.Array[1, 3]).Sample((inVocab, edits) =>
        {
            byte[] v = vocabBytes, m = mergeBytes;
            foreach (var e in edits)
            {
                if (inVocab) v = Splice(v, e);
                else m = Splice(m, e);
            }
            File.WriteAllBytes(vocabPath, v);
            File.WriteAllBytes(mergesPath, m);
            LoadsOrTokenizerException(() => Gpt2Tokenizer.FromFiles(vocabPath, mergesPath));
        }, iter: Gpt2Cases, threads: 1);
    }

    [Fact]
    public void Gpt2_RealFilesTruncated_LoadOrThrowTokenizerException()
    {
        byte[] vocab = File.ReadAllBytes(Path.Combine(SharedAssets.Gpt2TokenizerDir, "vocab.json"));
        byte[] merges = File.ReadAllBytes(Path.Combine(SharedAssets.Gpt2TokenizerDir, "merges.txt"));
        string vocabPath = Path.Combine(_dir, "vocab.json"), mergesPath = Path.Combine(_dir, "merges.txt");
        for (int i = 1; i <= 6; i++)
        {
            File.WriteAllBytes(vocabPath, vocab[..(vocab.Length * i / 7)]);
            File.WriteAllBytes(mergesPath, merges);
            LoadsOrTokenizerException(() => Gpt2Tokenizer.FromFiles(vocabPath, mergesPath));
            File.WriteAllBytes(vocabPath, vocab);
            File.WriteAllBytes(mergesPath, merges[..(merges.Length * i / 7)]);
            LoadsOrTokenizerException(() => Gpt2Tokenizer.FromFiles(vocabPath, mergesPath));
        }
    }

    [Fact]
    public void SentencePiece_MutatedModel_LoadsOrThrowsTokenizerException()
    {
        byte[] model = File.ReadAllBytes(Path.Combine(SharedAssets.Llama2TokenizerDir, "tokenizer.model"));
        string path = Path.Combine(_dir, "tokenizer.model");
        // Protobuf varints: 0xFF.. runs inflate lengths; 0x0A/0x12/0x1A/0x22 are length-delimited field keys.
        Gen<byte[]> noise = Gen.OneOf(
            Gen.Byte.Array[1, 6],
            Gen.Int[0, ProtobufNoise.Length - 1].Select(i => ProtobufNoise[i]));
        Gen<int> position = Gen.Frequency((3, Gen.Int[0, 4096]), (1, Gen.Int[0, model.Length]));
        Gen.Select(Gen.Int[0, 3], position, noise).Array[1, 3].Sample(edits =>
        {
            byte[] bytes = model;
            foreach (var e in edits) bytes = Splice(bytes, e);
            File.WriteAllBytes(path, bytes);
            LoadsOrTokenizerException(() => SentencePieceTokenizer.Load(path));
        }, iter: SentencePieceCases, threads: 1);
    }

    [Fact]
    public void GgufTokenizerMetadata_Mutated_LoadsOrThrowsTokenizerException()
    {
        IReadOnlyDictionary<string, object> original = TestGgufMetadata.Read(SharedAssets.Stories260KGguf).Values;
        string[] keys = ["tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
            "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id"];
        int vocab = ((object[])original["tokenizer.ggml.tokens"]).Length;
        object[] replacements =
        [
            "llama", "gpt2", "", 0u, 1u, 2u, uint.MaxValue, -1, int.MaxValue, (ulong)vocab, long.MinValue, 3.5f, float.NaN, true,
            new object[0], new object[] { "<unk>" }, new object[] { 1, 2 }, new object[] { float.PositiveInfinity }, new object[] { null! },
            new object[] { "<0xZZ>", "<s>" }, new string[] { "" }, new float[] { 1f }, new int[] { 99, -7 },
            Enumerable.Repeat((object)"a", vocab).ToArray(), Enumerable.Repeat((object)7, vocab).ToArray(), Enumerable.Repeat((object)ulong.MaxValue, vocab).ToArray(),
        ];
        Gen.Select(Gen.Int[0, keys.Length - 1], Gen.Int[0, replacements.Length], Gen.Int[0, vocab - 1], Gen.Int[0, 2]).Array[1, 3].Sample(edits =>
        {
            var metadata = original.ToDictionary(kv => kv.Key, kv => kv.Value is object[] a ? (object)a.Clone() : kv.Value);
            foreach ((int key, int replacement, int index, int mode) in edits)
            {
                string name = keys[key];
                if (replacement == replacements.Length) metadata.Remove(name);
                else if (mode == 0 && metadata.TryGetValue(name, out object? current) && current is object[] array && array.Length > index)
                {
                    array[index] = replacements[replacement];   // one bad element inside a good array
                }
                else metadata[name] = replacements[replacement];
            }
            LoadsOrTokenizerException(() => GgufVocabTokenizer.FromMetadata(metadata, "fuzz.gguf"));
        }, iter: GgufMetadataCases, threads: 1);
    }
}
