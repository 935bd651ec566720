namespace QuickSilver.Policies;

/// <summary>Finds which tokens of a sequence are covered by lexicon words or phrases, so the engine can protect those positions.</summary>
/// <remarks>
/// <para>The token texts (each token's piece decoded to text) are concatenated and searched case-insensitively. Whitespace in the text matches a
/// space in an entry (so "as a result" matches across a line break); ’ and ' are the same character. A token is covered when any of its characters
/// falls inside a match, so a phrase split over several tokens covers all of them. Tokens with empty text are never covered.</para>
/// <para>Word boundaries: at an edge of an entry that is a word character (letter, digit or '_'), the neighbouring text character must not be a word
/// character; edges that are punctuation or spaces need no boundary. So "not" does not match inside "nothing" or "knot", "get_weather" does not
/// match inside "forget_weather", and "{" matches anywhere. A leading '*' drops the boundary at the start ("*n't" matches the end of "don't"),
/// a trailing '*' the boundary at the end ("neg*" matches "negative").</para>
/// </remarks>
public sealed class LexiconMatcher
{
    private readonly Entry[] _entries;

    /// <summary>Compiles a matcher.</summary>
    /// <param name="entries">Words or phrases, optionally with a leading or trailing '*' wildcard; duplicates are ignored.</param>
    /// <exception cref="ArgumentException">An entry is null, blank, or only wildcards.</exception>
    public LexiconMatcher(IEnumerable<string> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var compiled = new List<Entry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var raw in entries)
        {
            if (string.IsNullOrWhiteSpace(raw))
            {
                throw new ArgumentException($"Lexicon entry {index} is blank.", nameof(entries));
            }

            var text = raw.Trim();
            var openStart = text.StartsWith('*');
            var openEnd = text.Length > 1 && text.EndsWith('*');
            var core = text[(openStart ? 1 : 0)..(openEnd ? text.Length - 1 : text.Length)];
            if (string.IsNullOrWhiteSpace(core))
            {
                throw new ArgumentException($"Lexicon entry {index} (\"{raw}\") has no text besides wildcards.", nameof(entries));
            }

            var normalized = Fold(core);
            if (seen.Add((openStart ? "*" : string.Empty) + normalized + (openEnd ? "*" : string.Empty)))
            {
                compiled.Add(new Entry(
                    text,
                    normalized,
                    NeedsBoundary: !openStart && IsWordChar(normalized[0]),
                    NeedsEndBoundary: !openEnd && IsWordChar(normalized[^1])));
            }

            index++;
        }

        _entries = [.. compiled];
    }

    /// <summary>How many distinct entries the matcher holds.</summary>
    public int Count => _entries.Length;

    /// <summary>A matcher for the lexicons a policy switches on: its full-processing words plus, when enabled, the built-in negations and JSON structure.</summary>
    /// <param name="lexicons">The policy's lexicons.</param>
    public static LexiconMatcher ForFullProcessing(TokenLexicons lexicons)
    {
        ArgumentNullException.ThrowIfNull(lexicons);
        IEnumerable<string> entries = lexicons.FullProcessing;
        if (lexicons.ProtectNegations)
        {
            entries = entries.Concat(BuiltInLexicons.Negations);
        }

        if (lexicons.ProtectJsonStructure)
        {
            entries = entries.Concat(BuiltInLexicons.JsonStructure);
        }

        return new LexiconMatcher(entries);
    }

    /// <summary>A matcher for tokens kept at 8 bits: the quantization-override words plus everything <see cref="ForFullProcessing"/> protects.</summary>
    /// <param name="lexicons">The policy's lexicons.</param>
    public static LexiconMatcher ForQuantizationOverride(TokenLexicons lexicons)
    {
        ArgumentNullException.ThrowIfNull(lexicons);
        var full = ForFullProcessing(lexicons);
        return new LexiconMatcher([.. lexicons.QuantizationOverride, .. full._entries.Select(e => e.Source)]);
    }

    /// <summary>A matcher for the policy's forced-halt words.</summary>
    /// <param name="lexicons">The policy's lexicons.</param>
    public static LexiconMatcher ForForcedHalt(TokenLexicons lexicons)
    {
        ArgumentNullException.ThrowIfNull(lexicons);
        return new LexiconMatcher(lexicons.ForcedHalt);
    }

    /// <summary>The matcher for <see cref="TokenLexicons.ForcedRetention"/>.</summary>
    /// <param name="lexicons">The policy's lexicons.</param>
    public static LexiconMatcher ForForcedRetention(TokenLexicons lexicons)
    {
        ArgumentNullException.ThrowIfNull(lexicons);
        return new LexiconMatcher(lexicons.ForcedRetention);
    }

    /// <summary>The positions of the tokens covered by any entry, ascending.</summary>
    /// <param name="tokens">The decoded text of each token, in order.</param>
    public IReadOnlyList<int> Match(IReadOnlyList<string> tokens)
    {
        var mask = CoverageMask(tokens);
        var positions = new List<int>();
        for (var i = 0; i < mask.Length; i++)
        {
            if (mask[i])
            {
                positions.Add(i);
            }
        }

        return positions;
    }

    /// <summary>For each token, whether any entry covers it.</summary>
    /// <param name="tokens">The decoded text of each token, in order.</param>
    /// <exception cref="ArgumentException">A token text is null.</exception>
    public bool[] CoverageMask(IReadOnlyList<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var mask = new bool[tokens.Count];
        if (_entries.Length == 0 || tokens.Count == 0)
        {
            return mask;
        }

        // owner[c] is the token that produced character c of the concatenated text.
        var length = 0;
        for (var i = 0; i < tokens.Count; i++)
        {
            length += (tokens[i] ?? throw new ArgumentException($"Token {i} is null.", nameof(tokens))).Length;
        }

        var owner = new int[length];
        var buffer = new char[length];
        var at = 0;
        for (var i = 0; i < tokens.Count; i++)
        {
            foreach (var c in tokens[i])
            {
                owner[at] = i;
                buffer[at++] = FoldChar(c);
            }
        }

        var text = new string(buffer);
        foreach (var entry in _entries)
        {
            var start = 0;
            while ((start = text.IndexOf(entry.Text, start, StringComparison.Ordinal)) >= 0)
            {
                var end = start + entry.Text.Length;
                var startOk = !entry.NeedsBoundary || start == 0 || !IsWordChar(text[start - 1]);
                var endOk = !entry.NeedsEndBoundary || end == text.Length || !IsWordChar(text[end]);
                if (startOk && endOk)
                {
                    for (var c = start; c < end; c++)
                    {
                        mask[owner[c]] = true;
                    }
                }

                start++;
            }
        }

        return mask;
    }

    /// <summary>
    /// For each token, whether a match found in the text up to the end of that token covers it, the end of that text counting as a word
    /// boundary: coverage decided from the token and those before it, never from later ones. A phrase split over several tokens therefore
    /// covers them from the token where it completes (all of its tokens from then on count as matched, but earlier positions are not
    /// revisited), and "no" is covered even if a later "body" turns it into "nobody". This is the view a decoder has, one token at a time;
    /// teacher-forced scoring must use it, or whether a position is protected would depend on the token it predicts.
    /// </summary>
    /// <param name="tokens">The decoded text of each token, in order.</param>
    /// <exception cref="ArgumentException">A token text is null.</exception>
    public bool[] CausalCoverageMask(IReadOnlyList<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var mask = new bool[tokens.Count];
        if (_entries.Length == 0 || tokens.Count == 0)
        {
            return mask;
        }

        var starts = new int[tokens.Count + 1];
        var builder = new System.Text.StringBuilder();
        for (var i = 0; i < tokens.Count; i++)
        {
            starts[i] = builder.Length;
            foreach (var c in tokens[i] ?? throw new ArgumentException($"Token {i} is null.", nameof(tokens)))
            {
                builder.Append(FoldChar(c));
            }
        }

        starts[tokens.Count] = builder.Length;
        var text = builder.ToString();
        for (var i = 0; i < tokens.Count; i++)
        {
            int from = starts[i], end = starts[i + 1];
            for (var n = 0; n < _entries.Length && !mask[i] && end > from; n++)
            {
                var entry = _entries[n];
                var length = entry.Text.Length;
                // Matches that end inside token i: they cover it, and they are complete in the text seen so far.
                for (var s = Math.Max(0, from - length + 1); s + length <= end && !mask[i]; s++)
                {
                    if (string.CompareOrdinal(text, s, entry.Text, 0, length) != 0)
                    {
                        continue;
                    }

                    var startOk = !entry.NeedsBoundary || s == 0 || !IsWordChar(text[s - 1]);
                    var endOk = !entry.NeedsEndBoundary || s + length == end || !IsWordChar(text[s + length]);
                    mask[i] = startOk && endOk;
                }
            }
        }

        return mask;
    }

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';

    private static string Fold(string text) => string.Create(text.Length, text, static (span, s) =>
    {
        for (var i = 0; i < s.Length; i++)
        {
            span[i] = FoldChar(s[i]);
        }
    });

    // Length-preserving folding keeps character offsets aligned with token ownership.
    private static char FoldChar(char c) => c == '\u2019' ? '\'' : char.IsWhiteSpace(c) ? ' ' : char.ToLowerInvariant(c);

    private readonly record struct Entry(string Source, string Text, bool NeedsBoundary, bool NeedsEndBoundary);
}
