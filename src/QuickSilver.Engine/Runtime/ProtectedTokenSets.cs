using QuickSilver.Policies;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// The lexicons of one request, resolved two ways: token ids that always match (single-token words, structure
/// characters, ids given by the caller), and phrase matchers run over the token texts of each prefill, so a word
/// split over several tokens ("get_weather") is protected at every one of them.
/// </summary>
public sealed class ProtectedTokenSets
{
    private readonly Func<int, string>? _tokenText;

    /// <summary>Creates empty sets; <paramref name="tokenText"/> gives a token's text for the phrase matchers.</summary>
    public ProtectedTokenSets(Func<int, string>? tokenText = null) => _tokenText = tokenText;

    /// <summary>Ids never halted, skipped, fused or quantized below 8 bits.</summary>
    public HashSet<int> FullProcessing { get; } = [];
    /// <summary>Ids halted at the minimum depth.</summary>
    public HashSet<int> ForcedHalt { get; } = [];
    /// <summary>Ids kept at 8 bits.</summary>
    public HashSet<int> QuantizationOverride { get; } = [];
    /// <summary>Ids never quantized (BOS): they stay at full precision.</summary>
    public HashSet<int> FullPrecision { get; } = [];
    /// <summary>Ids whose K/V are retained after they halt.</summary>
    public HashSet<int> ForcedRetention { get; } = [];
    /// <summary>Phrase matcher for KV forced retention, or null.</summary>
    public LexiconMatcher? ForcedRetentionPhrases { get; set; }
    /// <summary>Phrase matcher for full processing, or null.</summary>
    public LexiconMatcher? FullProcessingPhrases { get; set; }
    /// <summary>Phrase matcher for forced halting, or null.</summary>
    public LexiconMatcher? ForcedHaltPhrases { get; set; }
    /// <summary>Phrase matcher for the 8-bit override, or null.</summary>
    public LexiconMatcher? QuantizationOverridePhrases { get; set; }

    /// <summary>Flags for a token sequence known in full (a prompt): a phrase protects every one of its tokens.</summary>
    public TokenFlags FlagsFor(IReadOnlyList<int> tokens) => Flags(tokens, causal: false);

    /// <summary>
    /// Flags as a decoder sees them, one token at a time: each position's flags come from it and the tokens before it
    /// (<see cref="LexiconMatcher.CausalCoverageMask"/>). Teacher-forced scoring uses these, so that no position's processing
    /// depends on the token it predicts.
    /// </summary>
    public TokenFlags CausalFlagsFor(IReadOnlyList<int> tokens) => Flags(tokens, causal: true);

    private TokenFlags Flags(IReadOnlyList<int> tokens, bool causal)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        Func<LexiconMatcher?, string[], bool[]?> cover = causal ? (m, t) => m?.CausalCoverageMask(t) : (m, t) => m?.CoverageMask(t);
        var flags = new TokenFlags(tokens.Count);
        bool[]? full = null, halt = null, quant = null, retain = null;
        if (_tokenText is not null && (FullProcessingPhrases ?? ForcedHaltPhrases ?? QuantizationOverridePhrases ?? ForcedRetentionPhrases) is not null)
        {
            var texts = tokens.Select(_tokenText).ToArray();
            full = cover(FullProcessingPhrases, texts);
            halt = cover(ForcedHaltPhrases, texts);
            quant = cover(QuantizationOverridePhrases, texts);
            retain = cover(ForcedRetentionPhrases, texts);
        }
        for (int i = 0; i < tokens.Count; i++)
        {
            int id = tokens[i];
            flags.FullProcessing[i] = FullProcessing.Contains(id) || full?[i] == true;
            flags.ForcedHalt[i] = (ForcedHalt.Contains(id) || halt?[i] == true) && !flags.FullProcessing[i];
            flags.QuantizationOverride[i] = QuantizationOverride.Contains(id) || quant?[i] == true || flags.FullProcessing[i];
            flags.RetainKv[i] = ForcedRetention.Contains(id) || retain?[i] == true;
            flags.FullPrecision[i] = FullPrecision.Contains(id);
        }
        return flags;
    }
}
