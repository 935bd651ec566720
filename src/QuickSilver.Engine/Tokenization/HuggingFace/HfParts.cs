namespace QuickSilver.Engine.Tokenization.HuggingFace;

/// <summary>The validated parts a <see cref="HuggingFaceTokenizer"/> is built from, whatever file they came from.</summary>
internal sealed record HfParts
{
    /// <summary>The file named in errors.</summary>
    public required string Source { get; init; }

    /// <summary>Token text by id (model vocabulary and added tokens); null where no token has the id.</summary>
    public required string?[] Pieces { get; init; }

    /// <summary>Special tokens by id: never produced from user text, decode to nothing.</summary>
    public required bool[] IsSpecial { get; init; }

    /// <summary>Ids a GGUF file marks as control tokens (candidates for end of turn).</summary>
    public IReadOnlySet<int> ControlIds { get; init; } = new HashSet<int>();

    /// <summary>The added tokens.</summary>
    public required HfAddedVocabulary Added { get; init; }

    /// <summary>The normalizer, or null.</summary>
    public IHfNormalizer? Normalizer { get; init; }

    /// <summary>The pre-tokenizer, or null.</summary>
    public IHfPreTokenizer? PreTokenizer { get; init; }

    /// <summary>The BPE model.</summary>
    public required HfBpeModel Model { get; init; }

    /// <summary>The decoder chain.</summary>
    public required HfDecoder Decoder { get; init; }

    /// <summary>BOS id or -1.</summary>
    public int BosTokenId { get; init; } = -1;

    /// <summary>EOS id or -1.</summary>
    public int EosTokenId { get; init; } = -1;

    /// <summary>Padding id or -1.</summary>
    public int PadTokenId { get; init; } = -1;

    /// <summary>Whether prompts start with BOS.</summary>
    public bool AddBos { get; init; }

    /// <summary>Whether the model's encoding appends EOS.</summary>
    public bool AddEos { get; init; }

    /// <summary>Other ids that end generation (EOT, EOM, generation_config).</summary>
    public IReadOnlyList<int> DeclaredStopIds { get; init; } = [];

    /// <summary>Named chat templates.</summary>
    public IReadOnlyDictionary<string, string> ChatTemplates { get; init; } = new Dictionary<string, string>();
}
