using System.Collections.Frozen;

namespace QuickSilver.Policies;

/// <summary>An English function-word lexicon by category, for the paper's Table 2 analysis of which words halt.</summary>
/// <remarks>
/// Each word belongs to exactly one category. Ambiguous words take their most frequent Penn Treebank reading in running text:
/// "that" is a determiner, "for"/"to"/"like" prepositions, "her"/"his" pronouns, "so"/"yet" conjunctions, "no" a determiner; quantifiers
/// ("many", "few") count as determiners, comparatives ("more", "less") and main-verb forms ("done") as content words.
/// </remarks>
public static class FunctionWordLexicon
{
    private static readonly string[] DeterminerWords =
    [
        "the", "a", "an", "this", "that", "these", "those", "some", "any", "each", "every", "no", "all", "both", "either", "neither",
        "another", "other", "such", "what", "which", "whatever", "whichever", "many", "much", "few", "several", "enough", "half",
    ];

    private static readonly string[] PrepositionWords =
    [
        "in", "on", "at", "by", "for", "with", "about", "against", "between", "into", "through", "during", "before", "after", "above",
        "below", "to", "from", "up", "down", "of", "off", "over", "under", "around", "among", "across", "along", "behind", "beyond",
        "near", "toward", "towards", "upon", "within", "without", "throughout", "inside", "outside", "onto", "beneath", "beside",
        "besides", "despite", "except", "like", "past", "per", "since", "than", "till", "until", "unlike", "via", "amid",
    ];

    private static readonly string[] ConjunctionWords =
    [
        "and", "but", "or", "nor", "so", "yet", "because", "although", "though", "while", "whereas", "if", "unless", "whether",
        "once", "whenever", "wherever", "lest", "plus", "whilst", "as", "provided", "albeit", "either", "neither",
    ];

    private static readonly string[] PronounWords =
    [
        "i", "me", "my", "mine", "myself", "you", "your", "yours", "yourself", "yourselves", "he", "him", "his", "himself",
        "she", "her", "hers", "herself", "it", "its", "itself", "we", "us", "our", "ours", "ourselves", "they", "them", "their",
        "theirs", "themselves", "who", "whom", "whose", "whoever", "whomever", "someone", "somebody", "something", "anyone",
        "anybody", "anything", "everyone", "everybody", "everything", "nobody", "nothing", "none", "one", "oneself", "thee", "thou",
        "y'all", "'em",
    ];

    private static readonly string[] AuxiliaryWords =
    [
        "is", "am", "are", "was", "were", "be", "been", "being", "has", "have", "had", "having", "do", "does", "did",
        "can", "could", "will", "would", "shall", "should", "may", "might", "must", "ought", "'s", "'re", "'m", "'ve", "'d", "'ll",
        "ca", "wo", "sha", "isn't", "aren't", "wasn't", "weren't", "hasn't", "haven't", "hadn't", "doesn't", "don't", "didn't",
        "can't", "cannot", "couldn't", "won't", "wouldn't", "shan't", "shouldn't", "mightn't", "mustn't",
    ];

    private static readonly FrozenDictionary<string, PartOfSpeechCategory> Categories = Build();

    /// <summary>The words of one category (empty for <see cref="PartOfSpeechCategory.Content"/> and <see cref="PartOfSpeechCategory.Other"/>, which are open classes).</summary>
    /// <param name="category">The category.</param>
    public static IReadOnlyList<string> Words(PartOfSpeechCategory category) =>
        [.. Categories.Where(kv => kv.Value == category).Select(kv => kv.Key).Order(StringComparer.Ordinal)];

    /// <summary>Whether the category is one of the paper's function-word classes.</summary>
    /// <param name="category">The category.</param>
    public static bool IsFunctionWord(PartOfSpeechCategory category) =>
        category is PartOfSpeechCategory.Determiner or PartOfSpeechCategory.Preposition or PartOfSpeechCategory.Conjunction
            or PartOfSpeechCategory.Pronoun or PartOfSpeechCategory.Auxiliary;

    /// <summary>Classifies a word or a token's text, case-insensitively.</summary>
    /// <param name="word">A word, or a tokenizer piece: leading whitespace markers ('Ġ', '▁', 'Ċ') and surrounding punctuation are stripped; apostrophes inside or before a word are kept ("'s", "don't"), and ’ counts as '.</param>
    /// <returns>The word's category; <see cref="PartOfSpeechCategory.Content"/> for other words, <see cref="PartOfSpeechCategory.Other"/> when nothing with a letter remains.</returns>
    public static PartOfSpeechCategory Classify(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        var normalized = Normalize(word);
        if (!normalized.Any(char.IsLetter))
        {
            return PartOfSpeechCategory.Other;
        }

        if (Categories.TryGetValue(normalized, out var category))
        {
            return category;
        }

        // A leading apostrophe may be an opening quote rather than a clitic: 'the → the.
        var unquoted = normalized.TrimStart('\'');
        return unquoted.Length != normalized.Length && Categories.TryGetValue(unquoted, out category) ? category : PartOfSpeechCategory.Content;
    }

    internal static string Normalize(string word)
    {
        var text = word.Replace('\u2019', '\'').Replace('Ġ', ' ').Replace('▁', ' ').Replace('Ċ', ' ');
        var start = 0;
        var end = text.Length;
        while (start < end && !IsKept(text[start], leading: true))
        {
            start++;
        }

        while (end > start && !IsKept(text[end - 1], leading: false))
        {
            end--;
        }

        return text[start..end].ToLowerInvariant();
    }

    private static bool IsKept(char c, bool leading) => char.IsLetterOrDigit(c) || (leading && c == '\'');

    private static FrozenDictionary<string, PartOfSpeechCategory> Build()
    {
        var map = new Dictionary<string, PartOfSpeechCategory>(StringComparer.Ordinal);

        // Earlier lists win for words listed twice, which encodes the preferred reading documented on the class.
        foreach (var (words, category) in new[]
        {
            (AuxiliaryWords, PartOfSpeechCategory.Auxiliary),
            (DeterminerWords, PartOfSpeechCategory.Determiner),
            (PronounWords, PartOfSpeechCategory.Pronoun),
            (PrepositionWords, PartOfSpeechCategory.Preposition),
            (ConjunctionWords, PartOfSpeechCategory.Conjunction),
        })
        {
            foreach (var w in words)
            {
                map.TryAdd(w, category);
            }
        }

        return map.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
