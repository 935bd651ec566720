using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using QuickSilver.Engine.Tokenization;
using QuickSilver.Policies;
using TorchSharp;

namespace QuickSilver.Engine;

/// <summary>
/// A loaded model: fixed weights, tokenizer and config, shared by any number of <see cref="InferenceSession"/>s.
/// Thread-safe for reading; each session is used by one thread at a time.
/// </summary>
public sealed partial class LanguageModel : IDisposable
{
    private const string JsonStructureCharacters = "{}[]:,\"";
    private readonly Lazy<LexiconResolver> _lexicons;
    private readonly LanguageModelOptions _options;

    /// <summary>Builds a model from loader output and a tokenizer.</summary>
    public LanguageModel(CheckpointData checkpoint, ITokenizer tokenizer, LanguageModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(tokenizer);
        _options = options?.Clone() ?? new LanguageModelOptions();
        _options.Validate();
        if (_options.Threads > 0) torch.set_num_threads(_options.Threads);
        if (tokenizer.VocabSize > checkpoint.Config.VocabSize)
            throw new ModelFormatException(checkpoint.Source, $"the tokenizer has {tokenizer.VocabSize} tokens but the model's vocabulary is {checkpoint.Config.VocabSize}.");
        if (_options.QuantizeWeights is { } target && !Kernels.QuantizedMatrix.CanQuantizeTo(target))
            throw new ArgumentException($"LanguageModelOptions.QuantizeWeights must be Q8_0 or Q4_0, not {target}.", nameof(options));
        if (_options.Threads > 0) Kernels.KernelSettings.Threads = _options.Threads;
        Transformer = TransformerModel.Create(checkpoint, new torch.Device(_options.Device), _options.QuantizeWeights, _options.QuantizeActivations,
            keepHalfPrecision: _options.KeepHalfPrecision, bitPlanes: _options.BitPlanes);
        Transformer.KvCacheType = _options.KvCacheType;
        Runner = new ForwardRunner(Transformer);
        Tokenizer = tokenizer;
        ModelId = ModelIdentity.From(checkpoint);
        Metadata = checkpoint.Metadata;
        ContextLength = Math.Min(_options.ContextLength ?? checkpoint.Config.MaxPositions, checkpoint.Config.MaxPositions);
        _lexicons = new Lazy<LexiconResolver>(() => new LexiconResolver(tokenizer));
    }

    /// <summary>
    /// Loads a model: a Hugging Face folder, a .gguf file or a llama2.c .bin, with its tokenizer (see
    /// <see cref="TokenizerResolver.Resolve"/>; <see cref="LanguageModelOptions.TokenizerPath"/> overrides it).
    /// </summary>
    /// <exception cref="ModelFormatException">The model file is missing, corrupt or unsupported.</exception>
    /// <exception cref="TokenizerException">No usable tokenizer was found.</exception>
    public static LanguageModel Load(string path, LanguageModelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options?.Validate(); // before the file is read
        NativeAllocator.FixMmapThreshold(); // before the first big buffer is freed (see its remarks)
        NativeLibraryPages.ReleaseStartupCode(); // loads libtorch, then drops the code only its start-up ran (see its remarks)
        var checkpoint = CheckpointLoader.Load(path, options?.KeepQuantized ?? true);
        var tokenizer = TokenizerResolver.Resolve(checkpoint, path, options?.TokenizerPath);
        var model = new LanguageModel(checkpoint, tokenizer, options);
        // Loading leaves model-sized garbage (read buffers, matrices before q|k|v and gate|up were stacked) between the
        // pinned weights: one compacting collection now returns it, instead of it staying committed (13 MB on the 374M Q4_0 file).
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        NativeLibraryPages.ReleaseLoadCode(); // and the code only the load ran
        return model;
    }

    /// <summary>The model configuration.</summary>
    public ModelConfig Config => Transformer.Config;

    /// <summary>The tokenizer.</summary>
    public ITokenizer Tokenizer { get; }

    /// <summary>The model's id from its metadata (see <see cref="ModelIdentity"/>): GGUF general.name, HF _name_or_path, else the file name.</summary>
    public string ModelId { get; }

    /// <summary>String metadata from the checkpoint (e.g. "tokenizer.chat_template").</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Default context length of new sessions.</summary>
    public int ContextLength { get; }

    /// <summary>The fixed weights.</summary>
    public TransformerModel Transformer { get; }

    /// <summary>How this model's K/V caches store keys and values (<see cref="LanguageModelOptions.KvCacheType"/>).</summary>
    public KvCacheType KvCacheType => Transformer.KvCacheType;

    /// <summary>The forward runner (dense and routed passes).</summary>
    public ForwardRunner Runner { get; }

    /// <summary>Creates a session with its own KV cache of <paramref name="contextLength"/> positions (default: <see cref="ContextLength"/>).</summary>
    public InferenceSession CreateSession(int? contextLength = null)
    {
        int length = contextLength ?? ContextLength;
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 2, nameof(contextLength));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Config.MaxPositions, nameof(contextLength));
        return new InferenceSession(this, length);
    }

    /// <summary>Resolves a plan's lexicons plus extra protected ids into token-id sets and phrase matchers.</summary>
    public ProtectedTokenSets ResolveProtectedIds(RoutingPlan? plan, IReadOnlyCollection<int>? extraProtected)
    {
        var resolver = _lexicons.Value;
        var sets = new ProtectedTokenSets(resolver.TokenText);
        if (extraProtected is not null) sets.FullProcessing.UnionWith(extraProtected);
        if (plan is null) return sets;
        var lexicons = plan.Policy.Lexicons;
        var full = lexicons.FullProcessing.Concat(lexicons.ProtectNegations ? BuiltInLexicons.Negations : []);
        foreach (var word in full) sets.FullProcessing.UnionWith(resolver.ResolveWord(word));
        sets.FullProcessing.UnionWith(lexicons.FullProcessingIds);
        if (lexicons.ProtectJsonStructure) sets.FullProcessing.UnionWith(resolver.ResolveCharacters(JsonStructureCharacters));
        foreach (var word in lexicons.ForcedHalt) sets.ForcedHalt.UnionWith(resolver.ResolveWord(word));
        sets.ForcedHalt.UnionWith(lexicons.ForcedHaltIds);
        foreach (var word in lexicons.QuantizationOverride) sets.QuantizationOverride.UnionWith(resolver.ResolveWord(word));
        sets.QuantizationOverride.UnionWith(lexicons.QuantizationOverrideIds);
        foreach (var word in lexicons.ForcedRetention) sets.ForcedRetention.UnionWith(resolver.ResolveWord(word));
        sets.ForcedRetention.UnionWith(lexicons.ForcedRetentionIds);
        var quantization = plan.Policy.Quantization;
        // The paper keeps special tokens at full processing; BOS is the attention sink every later token reads, so it is never quantized.
        if (Tokenizer.BosTokenId >= 0) sets.FullPrecision.Add(Tokenizer.BosTokenId);
        if (quantization.ProtectNumbers) sets.QuantizationOverride.UnionWith(resolver.NumberTokens());
        if (quantization.RareTokenIdFraction is float fraction)
            for (int id = (int)(fraction * Config.VocabSize); id < Config.VocabSize; id++) sets.QuantizationOverride.Add(id);
        sets.FullProcessingPhrases = LexiconMatcher.ForFullProcessing(lexicons);
        sets.ForcedHaltPhrases = LexiconMatcher.ForForcedHalt(lexicons);
        sets.QuantizationOverridePhrases = LexiconMatcher.ForQuantizationOverride(lexicons);
        sets.ForcedRetentionPhrases = LexiconMatcher.ForForcedRetention(lexicons);
        return sets;
    }

    /// <inheritdoc />
    public void Dispose() => Transformer.Dispose();
}
