using QuickSilver.Engine.Runtime;

namespace QuickSilver.Engine.Generation;

/// <summary>The engine's sequence: its own K/V cache, routing plan and protected-token sets over a shared <see cref="LanguageModel"/>.</summary>
internal sealed class ModelSequence : Sequence
{
    // Phrase protection of a continuation looks this many earlier tokens back (as teacher-forced evaluation does).
    private const int PhraseContext = 32;

    internal ModelSequence(LanguageModel model, int contextLength, SequenceOptions options)
        : base(contextLength, options)
    {
        Model = model;
        Plan = Options.Policy is null || Options.Policy.IsDense ? null : new RoutingPlan(Options.Policy, model.Config);
        ProtectedIds = model.ResolveProtectedIds(Plan, Options.ProtectedTokenIds);
        if (model.KvCacheType != KvCacheType.Float32 && Plan?.Policy.Quantization is { Enabled: true, QuantizeKv: true })
            throw new ArgumentException($"The policy packs K/V (Quantization.QuantizeKv), which needs LanguageModelOptions.KvCacheType = Float32; this model's cache is {model.KvCacheType}. Turn one of them off.", nameof(options));
        Cache = new KvCache(model.Config, contextLength, model.Transformer.Device, storage: model.KvCacheType);
    }

    public LanguageModel Model { get; }

    public KvCache Cache { get; }

    public RoutingPlan? Plan { get; }

    public ProtectedTokenSets ProtectedIds { get; }

    /// <summary>Checks that <paramref name="tokens"/> can be appended: ids in the vocabulary, room in the context.</summary>
    public void Validate(IReadOnlyList<int> tokens)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Count == 0) throw new ArgumentException("A step needs at least one token.", nameof(tokens));
        int vocab = Model.Config.VocabSize;
        foreach (int id in tokens)
            if ((uint)id >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(tokens), id, $"Token id {id} is outside the vocabulary (0..{vocab - 1}).");
        if (Length + tokens.Count > ContextLength) throw new ContextLengthExceededException(Length + tokens.Count, ContextLength);
    }

    /// <summary>Runs <paramref name="tokens"/> after the held ones and appends them; returns every row or the last.</summary>
    public StepLogits Run(IReadOnlyList<int> tokens, bool lastRowOnly, int logitsFrom = 0)
    {
        var input = PrepareStep(tokens, lastRowOnly, logitsFrom);
        using var output = Model.Runner.Run(input);
        return CompleteStep(tokens, lastRowOnly, logitsFrom, output);
    }

    /// <summary>The forward input that runs <paramref name="tokens"/> after the held ones (a batched step runs several at once).</summary>
    internal ForwardInput PrepareStep(IReadOnlyList<int> tokens, bool lastRowOnly, int logitsFrom = 0)
    {
        Validate(tokens);
        logitsFrom = lastRowOnly ? 0 : Math.Clamp(logitsFrom, 0, tokens.Count - 1);
        int start = Length;
        // A prompt is known in full, so a phrase protects all of its tokens; a continuation sees its own tokens and what
        // came before, as teacher-forced evaluation does.
        var flags = start == 0 ? ProtectedIds.FlagsFor(tokens)
            : ProtectedIds.CausalFlagsFor([.. Tokens.Skip(Math.Max(0, start - PhraseContext)), .. tokens]).Slice(Math.Min(PhraseContext, start), tokens.Count);
        var trace = Traces is null ? null : new TokenTrace(tokens.Count, Model.Config.NumLayers, start);
        Traces?.Add(trace!);
        return new ForwardInput
        {
            TokenIds = tokens, StartPosition = start, Cache = Cache, Plan = Plan, Flags = flags, AllLogits = !lastRowOnly, LogitsFrom = logitsFrom, Stats = Stats, Trace = trace,
        };
    }

    /// <summary>Appends <paramref name="tokens"/> once their pass ran and copies its logits to the host.</summary>
    internal StepLogits CompleteStep(IReadOnlyList<int> tokens, bool lastRowOnly, int logitsFrom, ForwardOutput output)
    {
        Append(tokens);
        logitsFrom = lastRowOnly ? 0 : Math.Clamp(logitsFrom, 0, tokens.Count - 1);
        // The one host copy per step: sampling and constraints run on the host.
        int rows = lastRowOnly ? 1 : tokens.Count - logitsFrom;
        // A path that ignores LogitsFrom returns every row; its tail is what was asked for.
        using var wanted = output.Logits.shape[0] > rows ? output.Logits.narrow(0, output.Logits.shape[0] - rows, rows) : output.Logits.alias();
        using var flat = wanted.reshape(-1); // (rows·V)
        return new StepLogits(flat.data<float>().ToArray(), rows);
    }

    /// <summary>Records the first <paramref name="count"/> prompt tokens as held after their K/V was restored into <see cref="Cache"/>.</summary>
    internal void AdoptRestored(IReadOnlyList<int> prompt, int count)
    {
        if (count == 0) return;
        if (Length != 0 || Cache.Length != count) throw new InvalidOperationException("A restored prefix must fill an empty sequence.");
        Append([.. prompt.Take(count)]);
    }

    public override bool CanTruncateTo(int length) => base.CanTruncateTo(length) && Cache.HoldsPrefix(length);

    protected override void OnTruncate(int length) => Cache.TruncateFrom(length);

    protected override void Dispose(bool disposing)
    {
        if (disposing) Cache.Dispose();
    }
}
