using System.Text;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Extensions.AI.Tests.Fakes;

/// <summary>
/// A real tokenizer with a model family's added tokens appended after its vocabulary, as tokenizer.json's
/// <c>added_tokens</c> work: special ones are control tokens (they decode to nothing and plain <see cref="Encode"/> treats
/// their text as text), non-special ones (Qwen's <c>&lt;tool_call&gt;</c>, <c>&lt;think&gt;</c>) decode to their text and are
/// recognised in any text. Used where no real tokenizer of the family ships with the tests.
/// </summary>
internal sealed class AddedTokensTokenizer : ITokenizer
{
    /// <summary>GPT-2's real byte-level BPE tokenizer, loaded once for all tests.</summary>
    public static readonly Lazy<ITokenizer> Gpt2 = new(() => Gpt2Tokenizer.FromDirectory(QuickSilver.Testing.SharedAssets.Gpt2TokenizerDir));

    private readonly ITokenizer _inner;
    private readonly (string Text, bool Special)[] _added;

    public AddedTokensTokenizer(ITokenizer inner, IEnumerable<(string Text, bool Special)> added, string? bos, string eos)
    {
        _inner = inner;
        _added = added.ToArray();
        BosTokenId = bos is null ? -1 : IdOf(bos);
        EosTokenId = IdOf(eos);
    }

    /// <summary>The default chat template shipped with the tokenizer (tokenizer_config.json), if any.</summary>
    public string? ChatTemplate { get; init; }

    /// <summary>Named chat templates (tokenizer_config.json's list form).</summary>
    public IReadOnlyDictionary<string, string> NamedChatTemplates { get; init; } = new Dictionary<string, string>();

    public int VocabSize => _inner.VocabSize + _added.Length;

    public int BosTokenId { get; }

    public int EosTokenId { get; }

    public int IdOf(string text) => _inner.VocabSize + Array.FindIndex(_added, a => a.Text == text) is var id && id >= _inner.VocabSize
        ? id
        : throw new ArgumentException($"'{text}' is not an added token.");

    public IReadOnlyList<int> Encode(string text, bool addBos) => EncodeCore(text, addBos, withSpecial: false);

    /// <summary>Encodes with special-token text turned into the tokens (what a scripted model "writes").</summary>
    public IReadOnlyList<int> EncodeWithSpecialTokens(string text, bool addBos) => EncodeCore(text, addBos, withSpecial: true);

    private List<int> EncodeCore(string text, bool addBos, bool withSpecial)
    {
        var ids = new List<int>();
        if (addBos && BosTokenId >= 0) ids.Add(BosTokenId);
        int start = 0;
        for (int i = 0; i < text.Length;)
        {
            int match = -1;
            for (int k = 0; k < _added.Length; k++)
            {
                if ((withSpecial || !_added[k].Special) && string.CompareOrdinal(text, i, _added[k].Text, 0, _added[k].Text.Length) == 0
                    && (match < 0 || _added[k].Text.Length > _added[match].Text.Length))
                {
                    match = k;
                }
            }
            if (match < 0) { i++; continue; }
            if (i > start) ids.AddRange(_inner.Encode(text[start..i], addBos: false));
            ids.Add(_inner.VocabSize + match);
            i += _added[match].Text.Length;
            start = i;
        }
        if (start < text.Length) ids.AddRange(_inner.Encode(text[start..], addBos: false));
        return ids;
    }

    public string Decode(IEnumerable<int> ids) => Encoding.UTF8.GetString(ids.SelectMany(TokenBytes).ToArray());

    /// <summary>The ids written out with special tokens spelled, to compare prompts with template renders.</summary>
    public string Spell(IEnumerable<int> ids) => Spell(this, ids);

    /// <summary>Any tokenizer's ids written out with control tokens spelled by their pieces.</summary>
    public static string Spell(ITokenizer tokenizer, IEnumerable<int> ids)
    {
        var sb = new StringBuilder();
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if (tokenizer.IsControl(id))
            {
                sb.Append(Encoding.UTF8.GetString(bytes.ToArray()));
                bytes.Clear();
                sb.Append(tokenizer.TokenPiece(id));
            }
            else
            {
                bytes.AddRange(tokenizer.TokenBytes(id));
            }
        }
        return sb.Append(Encoding.UTF8.GetString(bytes.ToArray())).ToString();
    }

    public byte[] TokenBytes(int id) => id < _inner.VocabSize
        ? (_inner.IsControl(id) ? [] : _inner.TokenBytes(id))
        : _added[id - _inner.VocabSize].Special ? [] : Encoding.UTF8.GetBytes(_added[id - _inner.VocabSize].Text);

    public string TokenPiece(int id) => id < _inner.VocabSize ? _inner.TokenPiece(id) : _added[id - _inner.VocabSize].Text;

    public bool IsControl(int id) => id < _inner.VocabSize ? _inner.IsControl(id) : _added[id - _inner.VocabSize].Special;
}
