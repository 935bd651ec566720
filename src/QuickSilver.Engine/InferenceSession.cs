using System.Diagnostics;
using QuickSilver.Engine.Generation;
using QuickSilver.Engine.Runtime;

namespace QuickSilver.Engine;

/// <summary>
/// Per-sequence state: the KV cache and the token history it holds. Use from one thread at a time
/// (TorchSharp's dispose scopes are thread-static). <see cref="Generate"/> reuses the longest cached prefix.
/// </summary>
public sealed class InferenceSession : IDisposable
{
    private readonly LanguageModel _model;
    private readonly KvCache _cache;
    private readonly List<int> _tokens = [];
    private string _cachePolicyKey = "";
    private bool _disposed;

    internal InferenceSession(LanguageModel model, int contextLength)
    {
        _model = model;
        _cache = new KvCache(model.Config, contextLength, model.Transformer.Device);
    }

    /// <summary>Token ids whose K/V the cache holds.</summary>
    public IReadOnlyList<int> CachedTokens => _tokens;

    /// <summary>Maximum positions.</summary>
    public int ContextLength => _cache.ContextLength;

    /// <summary>The cache (for inspection: bytes, written positions).</summary>
    public KvCache Cache => _cache;

    /// <summary>
    /// Runs prefill over the uncached part of <paramref name="promptIds"/>, then decodes.
    /// <paramref name="onToken"/> is called on the calling thread for each generated token.
    /// </summary>
    /// <exception cref="ContextLengthExceededException">The prompt leaves no room for a generated token.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the session stays usable.</exception>
    public GenerationResult Generate(IReadOnlyList<int> promptIds, GenerationRequest request, Action<int>? onToken = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(promptIds);
        ArgumentNullException.ThrowIfNull(request);
        if (promptIds.Count == 0) throw new ArgumentException("The prompt is empty.", nameof(promptIds));
        Sampler.Validate(request);
        int vocab = _model.Config.VocabSize;
        foreach (int id in promptIds)
            if ((uint)id >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(promptIds), id, $"Token id {id} is outside the vocabulary (0..{vocab - 1}).");
        if (promptIds.Count >= ContextLength) throw new ContextLengthExceededException(promptIds.Count, ContextLength);
        cancellationToken.ThrowIfCancellationRequested();

        var clock = Stopwatch.StartNew();
        var plan = request.Policy is null || request.Policy.IsDense ? null : new RoutingPlan(request.Policy, _model.Config);
        string policyKey = plan is null ? "dense" : PolicyKey(plan);
        var protectedIds = _model.ResolveProtectedIds(plan, request.ProtectedTokenIds);

        // Reuse the longest common prefix computed under the same policy; at least one token must run to get logits.
        int reuse = 0;
        if (policyKey == _cachePolicyKey)
            while (reuse < _tokens.Count && reuse < promptIds.Count - 1 && _tokens[reuse] == promptIds[reuse]) reuse++;
        _cache.TruncateFrom(reuse);
        _tokens.RemoveRange(reuse, _tokens.Count - reuse);
        _cachePolicyKey = policyKey;

        var stats = new RuntimeStats();
        var sampler = new Sampler(request, promptIds);
        var stops = new HashSet<int>(request.StopTokenIds);
        if (_model.Config.EosTokenId >= 0) stops.Add(_model.Config.EosTokenId);
        if (_model.Tokenizer.EosTokenId >= 0) stops.Add(_model.Tokenizer.EosTokenId);

        var generated = new List<int>();
        var traces = request.CollectTrace ? new List<TokenTrace>() : null;
        double firstTokenSeconds = 0;
        var finish = GenerationFinishReason.Length;
        float[] logits = RunPass(promptIds.Skip(reuse).ToList(), plan, protectedIds, stats, traces);
        while (true)
        {
            int token = sampler.Sample(logits);
            if (generated.Count == 0) firstTokenSeconds = clock.Elapsed.TotalSeconds;
            if (stops.Contains(token)) { finish = GenerationFinishReason.Stop; break; }
            generated.Add(token);
            onToken?.Invoke(token);
            if (request.Constraint?.IsComplete == true) { finish = GenerationFinishReason.ConstraintComplete; break; }
            if (generated.Count >= request.MaxNewTokens || _cache.Length >= ContextLength) { finish = GenerationFinishReason.Length; break; }
            cancellationToken.ThrowIfCancellationRequested();
            logits = RunPass([token], plan, protectedIds, stats, traces);
        }

        return new GenerationResult
        {
            Tokens = generated,
            FinishReason = finish,
            PromptTokens = promptIds.Count,
            CachedPromptTokens = reuse,
            Stats = stats,
            Traces = (IReadOnlyList<TokenTrace>?)traces ?? [],
            TimeToFirstTokenSeconds = firstTokenSeconds,
            TotalSeconds = clock.Elapsed.TotalSeconds,
        };
    }

    /// <summary>Runs <paramref name="tokens"/> through the model after the cached ones and returns the last position's logits.</summary>
    private float[] RunPass(List<int> tokens, RoutingPlan? plan, ProtectedTokenSets protectedIds, RuntimeStats stats, List<TokenTrace>? traces)
    {
        int start = _cache.Length;
        // A prompt is known in full, so a phrase protects all of its tokens; a continuation (a decode step) sees its own
        // tokens and what came before, as teacher-forced evaluation does.
        const int Context = 32;
        var flags = start == 0 ? protectedIds.FlagsFor(tokens)
            : protectedIds.CausalFlagsFor([.. _tokens.TakeLast(Context), .. tokens]).Slice(Math.Min(Context, _tokens.Count), tokens.Count);
        var trace = traces is null ? null : new TokenTrace(tokens.Count, _model.Config.NumLayers, start);
        traces?.Add(trace!);
        using var output = _model.Runner.Run(new ForwardInput
        {
            TokenIds = tokens, StartPosition = start, Cache = _cache, Plan = plan, Flags = flags, AllLogits = false, Stats = stats, Trace = trace,
        });
        _tokens.AddRange(tokens);
        // The one host copy per step: sampling and constraints run on the host.
        using var flat = output.Logits.reshape(-1);
        return flat.data<float>().ToArray();
    }

    private static string PolicyKey(RoutingPlan plan) => System.Text.Json.JsonSerializer.Serialize(plan.Policy);

    /// <summary>Forgets the cached tokens.</summary>
    public void Reset()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _cache.Clear();
        _tokens.Clear();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _cache.Dispose();
    }
}
