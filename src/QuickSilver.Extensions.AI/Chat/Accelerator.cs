using Microsoft.Extensions.AI;
using QuickSilver.Engine;
using QuickSilver.Engine.Generation;
using QuickSilver.Engine.PrefixCaching;
using QuickSilver.Engine.Speculative;
using QuickSilver.Extensions.AI.Backend;

namespace QuickSilver.Extensions.AI.Chat;

/// <summary>
/// The client's lossless accelerations around one generation: draft providers and jump-forward for the request, and the
/// prefix cache shared across conversations. A request makes three calls: <see cref="Prepare"/> before the generator's
/// prefill, <see cref="AfterPrefill"/> once its first token is out, <see cref="AddUsage"/> when it is done. Used from the
/// thread that runs the request's steps.
/// </summary>
internal sealed class Accelerator : IDisposable
{
    /// <summary>Usage keys (in <see cref="UsageDetails.AdditionalCounts"/>).</summary>
    public const string CachedPromptTokensKey = "quicksilver.cached_prompt_tokens", DraftTokensKey = "quicksilver.draft_tokens",
        AcceptedDraftTokensKey = "quicksilver.accepted_draft_tokens", ForcedTokensKey = "quicksilver.forced_tokens";

    private readonly LanguageModel? _model;
    private readonly PrefixCache? _prefixes;
    private readonly TimeProvider _time;

    /// <summary>Creates the accelerator of a client; the prefix cache needs the real engine (a fake backend has no K/V).</summary>
    public Accelerator(IQuickSilverBackend backend, QuickSilverOptions options)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(options);
        _model = backend.Model as LanguageModel;
        _time = backend.TimeProvider; // the clock of the generator's own timings
        if (options.PrefixCacheBytes > 0 && _model is not null)
            _prefixes = new PrefixCache(new PrefixCacheOptions { MaxBytes = options.PrefixCacheBytes, BlockTokens = options.PrefixCacheBlockTokens });
    }

    /// <summary>The prefix cache, or null when it is off.</summary>
    public PrefixCache? Prefixes => _prefixes;

    /// <summary>
    /// Returns the request to run (a copy with the draft provider and jump-forward of <paramref name="plan"/>), and prepares
    /// <paramref name="sequence"/>: a conversation the sequence does not already hold for the most part starts from the prefix
    /// cache and prefills whole blocks, so that its prompt can be stored for later conversations.
    /// </summary>
    public Preparation Prepare(Sequence sequence, IReadOnlyList<int> prompt, RequestPlan plan, GenerationRequest request)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(request);
        long started = _time.GetTimestamp();
        AccelerationSettings settings = plan.Acceleration;
        GenerationRequest accelerated = request.Clone();
        accelerated.JumpForward = settings.JumpForward;
        var providers = new List<IDraftProvider>();
        if (settings.PromptLookup) providers.Add(new PromptLookupDraftProvider(new PromptLookupOptions { MaxDraftTokens = settings.MaxDraftTokens }));
        if (settings.EarlyExitDrafting && _model is not null && _model.Config.NumLayers >= 2)
            providers.Add(new EarlyExitDraftProvider(_model, sequence, maxTokens: settings.MaxDraftTokens));
        accelerated.DraftProvider = providers.Count switch { 0 => null, 1 => providers[0], _ => new DraftComposer([.. providers]) };
        accelerated.MaxDraftTokens = providers.Count > 0 ? settings.MaxDraftTokens : 0;

        var preparation = new Preparation(accelerated, sequence, prompt);
        if (_prefixes is not null && _model is not null)
        {
            int held = 0;
            while (held < sequence.Length && held < prompt.Count - 1 && sequence.Tokens[held] == prompt[held]) held++;
            // A sequence that holds most of the prompt (the same conversation's last turn) is the better cache.
            if (2 * held < prompt.Count)
            {
                preparation.RestoredTokens = _model.RestorePrefix(sequence, _prefixes, prompt);
                preparation.BlockEnd = sequence.Length;
                preparation.BlockPrefill = true;
            }
        }
        preparation.Seconds = _time.GetElapsedTime(started).TotalSeconds;
        return preparation;
    }

    /// <summary>Stores the request's prompt blocks in the prefix cache (once; after the first token, so its latency is not delayed).</summary>
    public void AfterPrefill(Preparation preparation)
    {
        ArgumentNullException.ThrowIfNull(preparation);
        if (!preparation.BlockPrefill || preparation.Stored || _prefixes is null || _model is null || preparation.Sequence.IsDisposed) return;
        preparation.Stored = true;
        _model.StorePrefix(preparation.Sequence, _prefixes, preparation.Prompt, preparation.BlockEnd);
    }

    /// <summary>Adds the accelerations' counts to <paramref name="usage"/> and the preparation's time to its latencies.</summary>
    public static void AddUsage(UsageDetails usage, Preparation preparation, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(usage);
        ArgumentNullException.ThrowIfNull(preparation);
        ArgumentNullException.ThrowIfNull(generator);
        // After a block prefill the generator sees the prepared blocks as held; only the restored ones were cached.
        if (preparation.BlockPrefill) usage.CachedInputTokenCount = preparation.RestoredTokens;
        var counts = usage.AdditionalCounts ??= [];
        counts[CachedPromptTokensKey] = usage.CachedInputTokenCount ?? 0;
        counts[DraftTokensKey] = generator.DraftTokens;
        counts[AcceptedDraftTokensKey] = generator.AcceptedDraftTokens;
        counts[ForcedTokensKey] = generator.ForcedTokens;
        long prepared = (long)Math.Round(preparation.Seconds * 1e6);
        foreach (string key in new[] { QuickSilverChatClient.TimeToFirstTokenKey, QuickSilverChatClient.TotalTimeKey })
            if (counts.TryGetValue(key, out long value)) counts[key] = value + prepared;
    }

    /// <inheritdoc />
    public void Dispose() => _prefixes?.Dispose();

    /// <summary>One request's prepared state.</summary>
    internal sealed class Preparation(GenerationRequest request, Sequence sequence, IReadOnlyList<int> prompt)
    {
        /// <summary>The request to run.</summary>
        public GenerationRequest Request { get; } = request;

        public Sequence Sequence { get; } = sequence;

        public IReadOnlyList<int> Prompt { get; } = prompt;

        /// <summary>Prompt tokens restored from the prefix cache.</summary>
        public int RestoredTokens { get; set; }

        /// <summary>Whether the prompt was prefilled in prefix-cache blocks (so it may be stored).</summary>
        public bool BlockPrefill { get; set; }

        /// <summary>Positions the block prefill covered (restored or run in block passes): what may be stored.</summary>
        public int BlockEnd { get; set; }

        public bool Stored { get; set; }

        /// <summary>Seconds the preparation took (restore and block prefill), part of the request's latency.</summary>
        public double Seconds { get; set; }
    }
}
