using System.Text;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Extensions.AI.Tests.Fakes;

/// <summary>
/// A byte-level tokenizer with a few multi-byte tokens (so text and stop sequences cross token boundaries):
/// ids 0-255 are bytes, 256 is BOS "&lt;s&gt;", 257 is EOS "&lt;/s&gt;", 258+ are the extra pieces, matched longest first.
/// </summary>
internal sealed class FakeTokenizer : ITokenizer
{
    public const int Bos = 256;
    public const int Eos = 257;

    private static readonly string[] DefaultPieces =
    [
        "Hello", " world", "Once", " upon", " a", " time", " the", "END", "{\"", "\":", "\",\"", "\"}", "name", "arguments",
        "get_weather", "city", "Paris", " there", " was", "<|im_start|>", "<|im_end|>", "é", "日本",
    ];

    private readonly string[] _pieces;
    private readonly byte[][] _pieceBytes;

    public FakeTokenizer(IEnumerable<string>? extraPieces = null)
    {
        _pieces = [.. DefaultPieces, .. extraPieces ?? []];
        _pieceBytes = _pieces.Select(Encoding.UTF8.GetBytes).ToArray();
    }

    public int VocabSize => 258 + _pieces.Length;

    public int BosTokenId => Bos;

    public int EosTokenId => Eos;

    public int IdOf(string piece) => 258 + Array.IndexOf(_pieces, piece);

    public IReadOnlyList<int> Encode(string text, bool addBos)
    {
        var ids = new List<int>();
        if (addBos) ids.Add(Bos);
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        int i = 0;
        while (i < bytes.Length)
        {
            int best = -1, bestLength = 0;
            for (int p = 0; p < _pieceBytes.Length; p++)
            {
                byte[] piece = _pieceBytes[p];
                if (piece.Length > bestLength && bytes.AsSpan(i).StartsWith(piece) && !_pieces[p].StartsWith("<|", StringComparison.Ordinal))
                {
                    best = p;
                    bestLength = piece.Length;
                }
            }
            if (best >= 0)
            {
                ids.Add(258 + best);
                i += bestLength;
            }
            else
            {
                ids.Add(bytes[i++]);
            }
        }
        return ids;
    }

    public string Decode(IEnumerable<int> ids) => Encoding.UTF8.GetString(ids.SelectMany(TokenBytes).ToArray());

    public byte[] TokenBytes(int id)
    {
        if ((uint)id >= (uint)VocabSize) throw new TokenizerException($"Token id {id} is outside the vocabulary.");
        if (id < 256) return [(byte)id];
        if (id is Bos or Eos) return [];
        return _pieceBytes[id - 258];
    }

    public string TokenPiece(int id) => id switch
    {
        < 256 => id is >= 0x20 and < 0x7F ? ((char)id).ToString() : $"<0x{id:X2}>",
        Bos => "<s>",
        Eos => "</s>",
        _ => _pieces[id - 258],
    };

    public bool IsControl(int id) => id is Bos or Eos;
}
