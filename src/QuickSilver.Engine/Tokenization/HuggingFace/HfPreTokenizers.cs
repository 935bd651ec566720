using System.Globalization;
using System.Text;
using System.Text.Json;

namespace QuickSilver.Engine.Tokenization.HuggingFace;

/// <summary>A tokenizer.json pre-tokenizer: splits normalized pieces into the words the model encodes one by one.</summary>
internal interface IHfPreTokenizer
{
    /// <summary>Splits every piece of <paramref name="pieces"/>; returns the new list.</summary>
    List<TextPiece> PreTokenize(List<TextPiece> pieces);
}

/// <summary>The tokenizer.json <c>pre_tokenizer</c> types this library implements, and their parser.</summary>
internal static class HfPreTokenizers
{
    /// <summary>The supported <c>type</c> values.</summary>
    public static readonly string[] Supported =
        ["Split", "ByteLevel", "Metaspace", "Digits", "Punctuation", "Whitespace", "WhitespaceSplit", "CharDelimiterSplit", "BertPreTokenizer", "Sequence"];

    /// <summary>GPT-2's pattern, which the ByteLevel pre-tokenizer applies when <c>use_regex</c> is true.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Builds the pre-tokenizer of a JSON node, or null for JSON null.</summary>
    /// <exception cref="TokenizerException">An unsupported type or a malformed field, named with <paramref name="source"/>.</exception>
    public static IHfPreTokenizer? Parse(JsonElement node, string source)
    {
        if (node.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        string type = HfJson.Type(node, "pre_tokenizer", source);
        return type switch
        {
            "Split" => new SplitPreTokenizer(HfPattern.Parse(node, "pre_tokenizer Split", source),
                HfSplit.ParseBehavior(HfJson.String(node, "behavior", "pre_tokenizer Split", source), source), HfJson.Bool(node, "invert", false)),
            "ByteLevel" => new ByteLevelPreTokenizer(HfJson.Bool(node, "add_prefix_space", true), HfJson.Bool(node, "use_regex", true), source),
            "Metaspace" => ParseMetaspace(node, source),
            "Digits" => new DigitsPreTokenizer(HfJson.Bool(node, "individual_digits", false)),
            "Punctuation" => new HfCharPreTokenizers.CharSplitPreTokenizer(HfCharPreTokenizers.IsPunctuation,
                HfJson.OptionalString(node, "behavior") is { } behavior ? HfSplit.ParseBehavior(behavior, source) : SplitBehavior.Isolated),
            "WhitespaceSplit" => new HfCharPreTokenizers.CharSplitPreTokenizer(HfCharPreTokenizers.IsWhitespace, SplitBehavior.Removed),
            "CharDelimiterSplit" => ParseCharDelimiter(node, source),
            "BertPreTokenizer" => new HfCharPreTokenizers.BertPreTokenizer(),
            // \w+|[^\w\s]+ with the matches kept and the rest (whitespace) removed.
            "Whitespace" => new SplitPreTokenizer(HfPattern.Regex(@"\w+|[^\w\s]+", $"{source}: pre_tokenizer Whitespace"), SplitBehavior.Removed, invert: true),
            "Sequence" => new SequencePreTokenizer(HfJson.Array(node, "pretokenizers", "pre_tokenizer Sequence", source)
                .Select(n => Parse(n, source)).OfType<IHfPreTokenizer>().ToArray()),
            _ => throw new TokenizerException(
                $"{source}: pre_tokenizer type '{type}' is not supported (supported: {string.Join(", ", Supported)}); the tokenizer cannot be reproduced exactly."),
        };
    }

    private static IHfPreTokenizer ParseCharDelimiter(JsonElement node, string source)
    {
        string delimiter = HfJson.String(node, "delimiter", "pre_tokenizer CharDelimiterSplit", source);
        if (!Rune.TryGetRuneAt(delimiter, 0, out Rune rune) || rune.Utf16SequenceLength != delimiter.Length)
        {
            throw new TokenizerException($"{source}: pre_tokenizer CharDelimiterSplit delimiter must be one character, not '{delimiter}'.");
        }
        return new HfCharPreTokenizers.CharSplitPreTokenizer(r => r == rune, SplitBehavior.Removed);
    }

    private static MetaspacePreTokenizer ParseMetaspace(JsonElement node, string source)
    {
        string replacement = HfJson.String(node, "replacement", "pre_tokenizer Metaspace", source);
        var scheme = ParsePrependScheme(node, source);
        return new MetaspacePreTokenizer(replacement, scheme, HfJson.Bool(node, "split", true));
    }

    /// <summary>Reads <c>prepend_scheme</c> (<c>always</c>/<c>first</c>/<c>never</c>), or the legacy <c>add_prefix_space</c>.</summary>
    public static PrependScheme ParsePrependScheme(JsonElement node, string source)
    {
        string? scheme = HfJson.OptionalString(node, "prepend_scheme");
        return scheme switch
        {
            null => HfJson.Bool(node, "add_prefix_space", true) ? PrependScheme.Always : PrependScheme.Never,
            "always" => PrependScheme.Always,
            "first" => PrependScheme.First,
            "never" => PrependScheme.Never,
            _ => throw new TokenizerException($"{source}: Metaspace prepend_scheme '{scheme}' is not one of always, first, never."),
        };
    }

    /// <summary>Splits around regex or literal matches.</summary>
    internal sealed class SplitPreTokenizer(HfPattern pattern, SplitBehavior behavior, bool invert) : IHfPreTokenizer
    {
        public List<TextPiece> PreTokenize(List<TextPiece> pieces)
        {
            var output = new List<TextPiece>(pieces.Count * 4);
            foreach (var piece in pieces)
            {
                HfSplit.Split(piece, pattern.Matches(piece.Text), invert, behavior, output);
            }
            return output;
        }
    }

    /// <summary>Optionally splits with GPT-2's pattern, then spells every piece in the byte-level alphabet.</summary>
    internal sealed class ByteLevelPreTokenizer : IHfPreTokenizer
    {
        private readonly bool _addPrefixSpace;
        private readonly HfPattern? _gpt2;

        public ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex, string source)
        {
            _addPrefixSpace = addPrefixSpace;
            _gpt2 = useRegex ? HfPattern.Regex(Gpt2Pattern, $"{source}: ByteLevel") : null;
        }

        public List<TextPiece> PreTokenize(List<TextPiece> pieces)
        {
            var split = new List<TextPiece>(pieces.Count * 2);
            foreach (var original in pieces)
            {
                var piece = _addPrefixSpace && !original.Text.StartsWith(' ') ? original with { Text = " " + original.Text } : original;
                if (_gpt2 is null)
                {
                    split.Add(piece);
                }
                else
                {
                    HfSplit.Split(piece, _gpt2.Matches(piece.Text), invert: false, SplitBehavior.Isolated, split);
                }
            }
            for (int i = 0; i < split.Count; i++)
            {
                split[i] = split[i] with { Text = Gpt2ByteAlphabet.Encode(TokenDecoding.Utf8.GetBytes(split[i].Text)) };
            }
            return split;
        }
    }

    /// <summary>Replaces spaces with the replacement character, prepends it per the scheme, and splits before each one.</summary>
    internal sealed class MetaspacePreTokenizer(string replacement, PrependScheme scheme, bool split) : IHfPreTokenizer
    {
        public List<TextPiece> PreTokenize(List<TextPiece> pieces)
        {
            var output = new List<TextPiece>(pieces.Count * 4);
            foreach (var piece in pieces)
            {
                string text = piece.Text.Replace(" ", replacement, StringComparison.Ordinal);
                bool prepend = scheme == PrependScheme.Always || (scheme == PrependScheme.First && piece.AtStart);
                if (prepend && !text.StartsWith(replacement, StringComparison.Ordinal))
                {
                    text = replacement + text;
                }
                var replaced = piece with { Text = text };
                if (split)
                {
                    HfSplit.Split(replaced, HfPattern.Literal(replacement).Matches(text), invert: false, SplitBehavior.MergedWithNext, output);
                }
                else
                {
                    output.Add(replaced);
                }
            }
            return output;
        }
    }

    /// <summary>Isolates digits: each one (<c>individual_digits</c>) or each run.</summary>
    internal sealed class DigitsPreTokenizer(bool individual) : IHfPreTokenizer
    {
        public List<TextPiece> PreTokenize(List<TextPiece> pieces)
        {
            var output = new List<TextPiece>(pieces.Count * 2);
            foreach (var piece in pieces)
            {
                var matches = new List<(int, int)>();
                string text = piece.Text;
                for (int i = 0; i < text.Length;)
                {
                    Rune.DecodeFromUtf16(text.AsSpan(i), out Rune rune, out int width);
                    if (IsNumeric(rune))
                    {
                        matches.Add((i, width));
                    }
                    i += width;
                }
                HfSplit.Split(piece, matches, invert: false, individual ? SplitBehavior.Isolated : SplitBehavior.Contiguous, output);
            }
            return output;
        }

        // Rust char::is_numeric: general categories Nd, Nl, No.
        private static bool IsNumeric(Rune rune) => Rune.GetUnicodeCategory(rune) is UnicodeCategory.DecimalDigitNumber
            or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;
    }

    /// <summary>Runs pre-tokenizers one after another.</summary>
    internal sealed class SequencePreTokenizer(IHfPreTokenizer[] steps) : IHfPreTokenizer
    {
        public List<TextPiece> PreTokenize(List<TextPiece> pieces)
        {
            foreach (var step in steps)
            {
                pieces = step.PreTokenize(pieces);
            }
            return pieces;
        }
    }
}

/// <summary>When Metaspace puts its replacement character in front of a piece.</summary>
internal enum PrependScheme
{
    /// <summary>In front of every piece.</summary>
    Always,

    /// <summary>Only in front of the piece that begins the input.</summary>
    First,

    /// <summary>Never.</summary>
    Never,
}
