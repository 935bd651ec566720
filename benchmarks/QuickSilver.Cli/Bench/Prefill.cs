using QuickSilver.Engine;
using QuickSilver.Engine.Runtime;
using TorchSharp;

namespace QuickSilver.Cli.Bench;

/// <summary>One prefill pass as a real request runs it: a fresh K/V cache, last-position logits only.</summary>
internal sealed class Prefill : IDisposable
{
    private readonly LanguageModel _model;
    private readonly KvCache _cache;

    public Prefill(LanguageModel model, IReadOnlyList<int> ids, RoutingPlan? plan = null, TokenFlags? flags = null)
    {
        _model = model;
        Ids = ids;
        Plan = plan;
        Flags = flags;
        _cache = new KvCache(model.Config, Math.Max(ids.Count, 2), model.Transformer.Device, initialCapacity: ids.Count, storage: model.KvCacheType);
    }

    public IReadOnlyList<int> Ids { get; }
    public RoutingPlan? Plan { get; }
    public TokenFlags? Flags { get; }

    /// <summary>Runs once and returns the counts.</summary>
    public RuntimeStats Run(TokenTrace? trace = null)
    {
        using var noGrad = torch.no_grad();
        _cache.Clear();
        var stats = new RuntimeStats();
        using var output = _model.Runner.Run(new ForwardInput
        {
            TokenIds = Ids, Cache = _cache, Plan = Plan, Flags = Flags, AllLogits = false, Stats = stats, Trace = trace,
        });
        return stats;
    }

    public void Dispose() => _cache.Dispose();

    public static int[] RandomTokens(int count, int vocab, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => random.Next(0, vocab)).ToArray();
    }
}
