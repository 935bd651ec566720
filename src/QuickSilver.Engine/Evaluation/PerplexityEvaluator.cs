using System.Diagnostics;
using QuickSilver.Engine.Runtime;
using QuickSilver.Policies;
using TorchSharp;

namespace QuickSilver.Engine.Evaluation;

/// <summary>
/// Sliding-window perplexity. Each window of <c>windowLength</c> input tokens starts <c>stride</c> after the previous
/// one and predicts the token after each of its inputs; only targets no earlier window scored are counted, so each
/// has at least <c>windowLength − stride</c> tokens of context (the first window's targets have what precedes them). Under a policy, a position
/// whose state depends on a later token of its window (<see cref="ForwardOutput.DependsOnLater"/>: absorbed by fusion, or between the
/// members of a non-adjacent fused pair) is never scored from that state: it is re-scored as the last position of its own prefix, run with
/// the same policy. Those extra passes are inference cost of the evaluated method and are counted in <see cref="PerplexityResult.Stats"/>;
/// <see cref="PerplexityResult.PaperStats"/> leaves them out, as the paper's accounting does.
/// </summary>
public sealed class PerplexityEvaluator
{
    private readonly LanguageModel _model;

    /// <summary>Creates an evaluator over <paramref name="model"/>.</summary>
    public PerplexityEvaluator(LanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
    }

    /// <summary>Evaluates a text file.</summary>
    public PerplexityResult EvaluateFile(string path, int windowLength, int stride, QuickSilverPolicy? policy = null, int? maxTokens = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Text file '{path}' does not exist.", path);
        return Evaluate(File.ReadAllText(path), windowLength, stride, policy, maxTokens, cancellationToken);
    }

    /// <summary>Evaluates a text: BOS (when the tokenizer has one) plus its tokens, truncated to <paramref name="maxTokens"/>.</summary>
    public PerplexityResult Evaluate(string text, int windowLength, int stride, QuickSilverPolicy? policy = null, int? maxTokens = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = _model.Tokenizer.Encode(text, addBos: true).ToList();
        if (maxTokens is int max && ids.Count > max) ids = ids.GetRange(0, max);
        return EvaluateTokens(ids, windowLength, stride, policy, cancellationToken);
    }

    /// <summary>Evaluates a token sequence.</summary>
    public PerplexityResult EvaluateTokens(IReadOnlyList<int> ids, int windowLength, int stride, QuickSilverPolicy? policy = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count < 2) throw new ArgumentException("At least two tokens are needed to measure perplexity.", nameof(ids));
        ArgumentOutOfRangeException.ThrowIfLessThan(windowLength, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(windowLength, _model.Config.MaxPositions);
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(stride, windowLength);
        var plan = policy is null || policy.IsDense ? null : new RoutingPlan(policy, _model.Config);
        var protectedIds = _model.ResolveProtectedIds(plan, null);
        var stats = new RuntimeStats();
        var rescoreStats = new RuntimeStats();
        double nll = 0;
        long scored = 0, rescored = 0;
        var clock = Stopwatch.StartNew();

        int last = ids.Count - 1;  // the last target
        var tokenNll = new double[last]; // per target ids[1..last]
        int scoredUpTo = 0;        // targets ids[1..scoredUpTo] are done
        for (int begin = 0; scoredUpTo < last; begin += stride)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Inputs ids[begin, end) predict targets ids[begin + 1 .. end]; only targets not scored before count.
            int end = Math.Min(begin + windowLength, last);
            var window = ids.Skip(begin).Take(end - begin).ToList();
            using var output = _model.Runner.Run(new ForwardInput
            {
                TokenIds = window, Plan = plan, Flags = protectedIds.CausalFlagsFor(window), AllLogits = true, Stats = stats,
            });
            using var scope = torch.NewDisposeScope();
            var logp = output.Logits.log_softmax(-1); // (W, V)
            var rows = new List<long>();
            var targets = new List<long>();
            for (int target = Math.Max(scoredUpTo + 1, begin + 1); target <= end; target++)
            {
                int j = target - 1 - begin; // the input position that predicts it
                if (output.DependsOnLater.Length > j && output.DependsOnLater[j])
                {
                    tokenNll[target - 1] = RescoreFromPrefix(ids, begin, target, plan, protectedIds, rescoreStats);
                    nll += tokenNll[target - 1];
                    rescored++;
                }
                else
                {
                    rows.Add(j);
                    targets.Add(ids[target]);
                }
                scored++;
            }
            if (rows.Count > 0)
            {
                var picked = logp.index_select(0, torch.tensor(rows.ToArray(), torch.int64, logp.device))
                    .gather(1, torch.tensor(targets.ToArray(), torch.int64, logp.device).unsqueeze(1)).squeeze(1).to(torch.float64);
                var values = picked.data<double>().ToArray();
                for (int n = 0; n < values.Length; n++) { tokenNll[begin + (int)rows[n]] = -values[n]; nll -= values[n]; }
            }
            scoredUpTo = end;
        }

        double mean = nll / scored;
        var paper = new RuntimeStats();
        paper.Add(stats);
        // The re-scoring passes are work the method needs to produce those predictions; a dense evaluator would not run
        // them, so their FLOPs count as actual cost and nothing is added to the dense reference.
        rescoreStats.DenseFlops = 0;
        rescoreStats.BetaWeightedFlops = 0;
        rescoreStats.KvBytes = stats.KvBytes;
        rescoreStats.DenseKvBytes = stats.DenseKvBytes;
        stats.Add(rescoreStats);
        return new PerplexityResult
        {
            Perplexity = Math.Exp(mean), MeanNll = mean, ScoredTokens = scored, TotalTokens = ids.Count,
            RescoredAbsorbed = rescored, Seconds = clock.Elapsed.TotalSeconds, Stats = stats, PaperStats = paper,
            RescoreFlops = rescoreStats.ActualFlops, TokenNll = tokenNll,
        };
    }

    /// <summary>NLL of ids[target] from the last position of the prefix ids[begin..target), processed with the same policy (as decoding would see it).</summary>
    private double RescoreFromPrefix(IReadOnlyList<int> ids, int begin, int target, RoutingPlan? plan, ProtectedTokenSets protectedIds, RuntimeStats stats)
    {
        var prefix = ids.Skip(begin).Take(target - begin).ToList();
        using var output = _model.Runner.Run(new ForwardInput
        {
            TokenIds = prefix, Plan = plan, Flags = protectedIds.CausalFlagsFor(prefix), AllLogits = false, Stats = stats,
        });
        using var logp = output.Logits.log_softmax(-1);
        return -logp[0, ids[target]].item<float>();
    }
}
