using TorchSharp;

namespace QuickSilver.Engine.Runtime;

/// <summary>The semantic drift index (paper R.3): ‖h_dense − h_qs‖₂ per token at the final layer, from side-by-side runs.</summary>
public static class SemanticDrift
{
    /// <summary>
    /// Runs <paramref name="tokens"/> dense and under <paramref name="plan"/> and returns, per token, the L2 distance of
    /// the final hidden states (before the final norm). Fills <see cref="TokenTrace.SemanticDrift"/> when a trace is given.
    /// </summary>
    public static float[] Measure(ForwardRunner runner, IReadOnlyList<int> tokens, RoutingPlan plan, TokenFlags? flags = null, TokenTrace? trace = null, RuntimeStats? stats = null)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(plan);
        using var dense = runner.Run(new ForwardInput { TokenIds = tokens, ReturnHidden = true });
        using var routed = runner.Run(new ForwardInput { TokenIds = tokens, Plan = plan, Flags = flags, Trace = trace, ReturnHidden = true, Stats = stats ?? new RuntimeStats() });
        using var scope = torch.NewDisposeScope();
        var values = (dense.Hidden! - routed.Hidden!).norm(-1, false).squeeze(0).data<float>().ToArray();
        if (trace is not null) trace.SemanticDrift = values;
        return values;
    }
}
