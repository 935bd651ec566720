using System.Text;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Cli.Infrastructure;

/// <summary>
/// UTF-8 bytes as tokens (ids 0–255) plus BOS (256) and EOS (257): the tokenizer of the random models,
/// which have no vocabulary of their own. Good enough to drive text through them; meaningless as language.
/// </summary>
internal sealed class ByteTokenizer : ITokenizer
{
    public const int Bos = 256, Eos = 257;

    public int VocabSize => 258;
    public int BosTokenId => Bos;
    public int EosTokenId => Eos;

    public IReadOnlyList<int> Encode(string text, bool addBos)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length + 1);
        if (addBos) ids.Add(Bos);
        foreach (byte b in Encoding.UTF8.GetBytes(text)) ids.Add(b);
        return ids;
    }

    public string Decode(IEnumerable<int> ids) => Encoding.UTF8.GetString(ids.Where(i => i < 256).Select(i => (byte)i).ToArray());

    public byte[] TokenBytes(int id) => id < 256 ? [(byte)id] : [];

    public string TokenPiece(int id) => id switch { Bos => "<s>", Eos => "</s>", _ => Encoding.Latin1.GetString([(byte)id]) };

    public bool IsControl(int id) => id >= 256;
}
