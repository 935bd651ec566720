using System.Text;
using QuickSilver.Engine.Tokenization;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// Maps lexicon words to vocabulary ids once per tokenizer: a token matches a word when its text, trimmed and
/// lower-cased, equals the word, or when the word encodes to that one token. Structure characters match every
/// token that contains them.
/// </summary>
public sealed class LexiconResolver
{
    private readonly ITokenizer _tokenizer;
    private readonly string[] _texts;
    private readonly Dictionary<string, int[]> _byText = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int[]> _byCharacters = new(StringComparer.Ordinal);
    private readonly Lazy<int[]> _numberTokens;

    /// <summary>Indexes the vocabulary of <paramref name="tokenizer"/>.</summary>
    public LexiconResolver(ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _texts = new string[tokenizer.VocabSize];
        var groups = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            string text = tokenizer.IsControl(id) ? "" : Encoding.UTF8.GetString(tokenizer.TokenBytes(id));
            _texts[id] = text;
            string key = text.Trim().ToLowerInvariant();
            if (key.Length == 0) continue;
            if (!groups.TryGetValue(key, out var list)) groups[key] = list = [];
            list.Add(id);
        }
        foreach (var (key, list) in groups) _byText[key] = [.. list];
        _numberTokens = new Lazy<int[]>(() => Enumerable.Range(0, _texts.Length).Where(id => _texts[id].Any(char.IsDigit)).ToArray());
    }

    /// <summary>The text of token <paramref name="id"/> (empty for control tokens).</summary>
    public string TokenText(int id) => (uint)id < (uint)_texts.Length ? _texts[id] : "";

    /// <summary>Ids of every token that spells <paramref name="word"/> by itself. A leading or trailing '*' (lexicon wildcard) is dropped.</summary>
    public IEnumerable<int> ResolveWord(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        word = word.Trim('*');
        string key = word.Trim().ToLowerInvariant();
        if (key.Length == 0) yield break;
        if (_byText.TryGetValue(key, out var ids)) foreach (int id in ids) yield return id;
        // A word that encodes to one token is that token; a longer encoding is left to the phrase matchers, which
        // protect its pieces where the word occurs instead of every occurrence of each piece.
        foreach (string form in new[] { word, " " + word.TrimStart() })
        {
            var encoded = _tokenizer.Encode(form, addBos: false).Where(id => !_tokenizer.IsControl(id) && _texts[id].Trim().Length > 0).ToArray();
            if (encoded.Length == 1) yield return encoded[0];
        }
    }

    /// <summary>Ids of every token whose text contains any of <paramref name="characters"/>.</summary>
    public IReadOnlyList<int> ResolveCharacters(string characters)
    {
        ArgumentNullException.ThrowIfNull(characters);
        // Scanned once per character set: the resolver lives as long as the model, requests come and go.
        return _byCharacters.GetOrAdd(characters, set =>
            Enumerable.Range(0, _texts.Length).Where(id => _texts[id].AsSpan().IndexOfAny(set) >= 0).ToArray());
    }

    /// <summary>Ids of tokens that contain a digit.</summary>
    public IReadOnlyList<int> NumberTokens() => _numberTokens.Value;
}
