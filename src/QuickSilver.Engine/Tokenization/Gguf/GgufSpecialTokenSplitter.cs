namespace QuickSilver.Engine.Tokenization;

/// <summary>
/// llama.cpp's <c>tokenizer_st_partition</c>: the text of control and user-defined tokens is cut out of raw text,
/// longest token first, each one at every occurrence left to right. User-defined tokens are always cut out; control
/// (and unknown) tokens only when special-token parsing is on.
/// </summary>
internal sealed class GgufSpecialTokenSplitter
{
    private readonly (string Text, int Id, bool Control)[] _tokens;

    /// <summary>Indexes the tokens, longest first.</summary>
    public GgufSpecialTokenSplitter(IEnumerable<(string Text, int Id, bool Control)> tokens)
    {
        _tokens = [.. tokens.Where(t => t.Text.Length > 0).OrderByDescending(t => t.Text.Length).ThenBy(t => t.Id)];
    }

    /// <summary>The fragments of <paramref name="text"/>: (text, -1) for raw text, ("", id) for a token.</summary>
    public List<(string Text, int Id)> Split(string text, bool parseSpecial)
    {
        var fragments = new List<(string Text, int Id)> { (text, -1) };
        foreach (var token in _tokens)
        {
            if (token.Control && !parseSpecial)
            {
                continue;
            }
            for (int f = 0; f < fragments.Count; f++)
            {
                var (raw, id) = fragments[f];
                if (id >= 0 || raw.IndexOf(token.Text, StringComparison.Ordinal) < 0)
                {
                    continue;
                }
                var pieces = new List<(string, int)>();
                int start = 0;
                for (int hit = raw.IndexOf(token.Text, StringComparison.Ordinal); hit >= 0; hit = raw.IndexOf(token.Text, start, StringComparison.Ordinal))
                {
                    if (hit > start) pieces.Add((raw[start..hit], -1));
                    pieces.Add(("", token.Id));
                    start = hit + token.Text.Length;
                }
                if (start < raw.Length) pieces.Add((raw[start..], -1));
                fragments.RemoveAt(f);
                fragments.InsertRange(f, pieces);
                f += pieces.Count - 1;
            }
        }
        return fragments;
    }
}
