using System.Text;
using MlSentencePiece = Microsoft.ML.Tokenizers.SentencePieceTokenizer;

namespace QuickSilver.Engine.Tokenization;

/// <summary>
/// A SentencePiece <c>tokenizer.model</c> (Llama 2 and friends), encoded by Microsoft.ML.Tokenizers. BOS is added by
/// <see cref="Encode"/> on request, never EOS; special-token strings in text (such as <c>"&lt;s&gt;"</c>) are ordinary text.
/// </summary>
/// <remarks>
/// Decoding: control tokens (BOS, EOS) contribute nothing, byte-fallback pieces <c>&lt;0xXX&gt;</c> their byte, other pieces
/// their text with U+2581 read as a space. When the model adds a dummy prefix, one leading space is dropped from a
/// (non-byte) piece that begins the text (the first id or an id right after BOS), as SentencePiece does.
/// </remarks>
public sealed class SentencePieceTokenizer : ITokenizer
{
    private readonly MlSentencePiece _model;
    private readonly string[] _pieces;
    private readonly byte[][] _tokenBytes;
    private readonly bool[] _isByte;
    private readonly bool _stripsDummyPrefix;
    private readonly string _source;

    private SentencePieceTokenizer(MlSentencePiece model, string source)
    {
        _model = model;
        _source = source;
        int count = model.Vocabulary.Count;
        _pieces = new string[count];
        foreach (var (piece, id) in model.Vocabulary)
        {
            if ((uint)id >= (uint)count || _pieces[id] is not null)
            {
                throw new TokenizerException($"SentencePiece model '{source}': id {id} of '{piece}' is duplicated or outside 0..{count - 1}.");
            }
            _pieces[id] = piece;
        }

        BosTokenId = model.BeginningOfSentenceId;
        EosTokenId = model.EndOfSentenceId;
        _stripsDummyPrefix = model.AddDummyPrefix;
        _tokenBytes = new byte[count][];
        _isByte = new bool[count];
        for (int id = 0; id < count; id++)
        {
            int value = model.ByteFallback ? Llama2cTokenizer.ParseByteToken(_pieces[id]) : -1;
            _isByte[id] = value >= 0;
            _tokenBytes[id] = id == BosTokenId || id == EosTokenId ? []
                : value >= 0 ? [(byte)value]
                : Encoding.UTF8.GetBytes(_pieces[id].Replace(GgufVocabTokenizer.SpaceMarker, ' '));
        }
    }

    /// <inheritdoc />
    public int VocabSize => _pieces.Length;

    /// <inheritdoc />
    public int BosTokenId { get; }

    /// <inheritdoc />
    public int EosTokenId { get; }

    /// <summary>The unknown-token id.</summary>
    public int UnknownTokenId => _model.UnknownId;

    /// <summary>Loads a SentencePiece model file (protobuf <c>ModelProto</c>, BPE or Unigram).</summary>
    /// <exception cref="TokenizerException">The file is missing or not a SentencePiece model.</exception>
    public static SentencePieceTokenizer Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new TokenizerException($"SentencePiece model file not found: '{path}'.");
        }
        MlSentencePiece model;
        try
        {
            using var stream = File.OpenRead(path);
            model = MlSentencePiece.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new TokenizerException($"'{path}' is not a readable SentencePiece model: {ex.Message}", ex);
        }
        if (model.Vocabulary.Count == 0)
        {
            throw new TokenizerException($"SentencePiece model '{path}' has an empty vocabulary.");
        }
        return new SentencePieceTokenizer(model, Path.GetFileName(path));
    }

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text, bool addBos)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = TokenDecoding.ReplaceUnpairedSurrogates(text);
        var ids = new List<int>();
        if (addBos && BosTokenId >= 0)
        {
            ids.Add(BosTokenId);
        }
        if (text.Length > 0)
        {
            ids.AddRange(_model.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false));
        }
        return ids;
    }

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids) => TokenDecoding.Decode(this, ids);

    /// <inheritdoc />
    public byte[] TokenBytes(int id) => (byte[])_tokenBytes[CheckId(id)].Clone();

    /// <inheritdoc />
    public byte[] TokenBytesAtTextStart(int id)
    {
        byte[] bytes = _tokenBytes[CheckId(id)];
        return _stripsDummyPrefix && !_isByte[id] && bytes.Length > 0 && bytes[0] == (byte)' ' ? bytes[1..] : (byte[])bytes.Clone();
    }

    /// <inheritdoc />
    public string TokenPiece(int id) => _pieces[CheckId(id)];

    /// <inheritdoc />
    public bool IsControl(int id) => CheckId(id) == BosTokenId || id == EosTokenId;

    private int CheckId(int id) =>
        (uint)id < (uint)_pieces.Length ? id : throw TokenDecoding.OutOfRange(id, _pieces.Length, _source);
}
