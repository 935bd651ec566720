using System.Text;
using System.Text.Json;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Extensions.AI.Tests.Fakes;

/// <summary>GPT-2's vocabulary read from vocab.json (bytes only; no BPE merging): enough for constrained-decoding masks.</summary>
internal sealed class Gpt2VocabTokenizer : ITokenizer
{
    private readonly byte[][] _bytes;
    private readonly string[] _pieces;

    private Gpt2VocabTokenizer(string[] pieces, byte[][] bytes)
    {
        _pieces = pieces;
        _bytes = bytes;
    }

    public static Gpt2VocabTokenizer Load(string directory)
    {
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(Path.Combine(directory, "vocab.json")))!;
        var unicodeToByte = ByteLevelAlphabet();
        int size = vocab.Values.Max() + 1;
        var pieces = new string[size];
        var bytes = new byte[size][];
        foreach ((string piece, int id) in vocab)
        {
            pieces[id] = piece;
            bytes[id] = piece == "<|endoftext|>" ? [] : piece.Select(c => unicodeToByte[c]).ToArray();
        }
        return new Gpt2VocabTokenizer(pieces, bytes);
    }

    // GPT-2's reversible byte-to-printable-character map.
    private static Dictionary<char, byte> ByteLevelAlphabet()
    {
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range('¡', '¬' - '¡' + 1)).Concat(Enumerable.Range('®', 'ÿ' - '®' + 1)).ToList();
        var map = new Dictionary<char, byte>();
        int extra = 0;
        for (int b = 0; b < 256; b++)
        {
            map[printable.Contains(b) ? (char)b : (char)(256 + extra++)] = (byte)b;
        }
        return map;
    }

    public int VocabSize => _bytes.Length;

    public int BosTokenId => VocabSize - 1;

    public int EosTokenId => VocabSize - 1;

    public IReadOnlyList<int> Encode(string text, bool addBos) => throw new NotSupportedException("vocabulary only");

    public string Decode(IEnumerable<int> ids) => Encoding.UTF8.GetString(ids.SelectMany(TokenBytes).ToArray());

    public byte[] TokenBytes(int id) => _bytes[id];

    public string TokenPiece(int id) => _pieces[id];

    public bool IsControl(int id) => _bytes[id].Length == 0;
}
