namespace QuickSilver.Engine.Tokenization.HuggingFace;

/// <summary>What a split does with the text a pattern matches (tokenizers' <c>SplitDelimiterBehavior</c>).</summary>
internal enum SplitBehavior
{
    /// <summary>Matches are dropped.</summary>
    Removed,

    /// <summary>Each match is its own piece.</summary>
    Isolated,

    /// <summary>A match joins the piece before it.</summary>
    MergedWithPrevious,

    /// <summary>A match joins the piece after it.</summary>
    MergedWithNext,

    /// <summary>Runs of consecutive matches form one piece.</summary>
    Contiguous,
}

/// <summary>One piece of text moving through the pipeline; <see cref="AtStart"/> marks a piece that begins the input.</summary>
internal readonly record struct TextPiece(string Text, bool AtStart);

/// <summary>Splits a piece around pattern matches exactly as tokenizers' <c>NormalizedString::split</c> does.</summary>
internal static class HfSplit
{
    /// <summary>Parses a <c>behavior</c> string.</summary>
    public static SplitBehavior ParseBehavior(string value, string source) => value switch
    {
        "Removed" => SplitBehavior.Removed,
        "Isolated" => SplitBehavior.Isolated,
        "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
        "MergedWithNext" => SplitBehavior.MergedWithNext,
        "Contiguous" => SplitBehavior.Contiguous,
        _ => throw new TokenizerException($"{source}: split behavior '{value}' is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous."),
    };

    /// <summary>Splits <paramref name="piece"/> at <paramref name="matches"/>, appending the non-empty results to <paramref name="output"/>.</summary>
    public static void Split(TextPiece piece, List<(int Start, int Length)> matches, bool invert, SplitBehavior behavior, List<TextPiece> output)
    {
        string text = piece.Text;
        // Segments covering the text: (start, end, isMatch).
        var segments = new List<(int Start, int End, bool Match)>(matches.Count * 2 + 1);
        int previous = 0;
        foreach (var (start, length) in matches)
        {
            if (length == 0)
            {
                continue;
            }
            if (start > previous)
            {
                segments.Add((previous, start, invert));
            }
            segments.Add((start, start + length, !invert));
            previous = start + length;
        }
        if (previous < text.Length)
        {
            segments.Add((previous, text.Length, invert));
        }

        var merged = new List<(int Start, int End)>(segments.Count);
        bool previousMatch = false;
        switch (behavior)
        {
            case SplitBehavior.Isolated:
                merged.AddRange(segments.Select(s => (s.Start, s.End)));
                break;
            case SplitBehavior.Removed:
                merged.AddRange(segments.Where(s => !s.Match).Select(s => (s.Start, s.End)));
                break;
            case SplitBehavior.MergedWithPrevious:
                foreach (var s in segments)
                {
                    if (s.Match && !previousMatch && merged.Count > 0)
                    {
                        merged[^1] = (merged[^1].Start, s.End);
                    }
                    else
                    {
                        merged.Add((s.Start, s.End));
                    }
                    previousMatch = s.Match;
                }
                break;
            case SplitBehavior.MergedWithNext:
                for (int i = segments.Count - 1; i >= 0; i--)
                {
                    var s = segments[i];
                    if (s.Match && !previousMatch && merged.Count > 0)
                    {
                        merged[^1] = (s.Start, merged[^1].End);
                    }
                    else
                    {
                        merged.Add((s.Start, s.End));
                    }
                    previousMatch = s.Match;
                }
                merged.Reverse();
                break;
            case SplitBehavior.Contiguous:
                for (int i = 0; i < segments.Count; i++)
                {
                    var s = segments[i];
                    if (i > 0 && s.Match == previousMatch)
                    {
                        merged[^1] = (merged[^1].Start, s.End);
                    }
                    else
                    {
                        merged.Add((s.Start, s.End));
                    }
                    previousMatch = s.Match;
                }
                break;
        }

        foreach (var (start, end) in merged)
        {
            if (end > start)
            {
                output.Add(new TextPiece(text[start..end], piece.AtStart && start == 0));
            }
        }
    }
}
