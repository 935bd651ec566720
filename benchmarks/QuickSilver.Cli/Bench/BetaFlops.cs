using QuickSilver.Engine.Models;
using QuickSilver.Engine.Runtime;
using QuickSilver.Policies;

namespace QuickSilver.Cli.Bench;

/// <summary>
/// The paper's β-weighted FLOPs (8-bit = 1, 4-bit = 0.5, 2-bit = 0.25 of a full-precision projection), computed from a
/// trace: each token's projection FLOPs at the layers it ran, weighted by its bits from the decision layer on; attention
/// and router FLOPs are left unweighted. Uses the engine's own figure when it reports one.
/// </summary>
internal static class BetaFlops
{
    public static double Compute(TokenTrace trace, RuntimeStats stats, TransformerModel model, RoutingPlan? plan)
    {
        if (stats.BetaWeightedFlops > 0) return stats.BetaWeightedFlops;
        int layers = model.Config.NumLayers, tokens = trace.HaltLayer.Length;
        bool quantized = plan?.Policy.Quantization.Enabled == true;
        int decision = plan?.DecisionLayer ?? layers;
        double projection = 0, weighted = 0;
        for (int i = 0; i < tokens; i++)
        {
            int ran = trace.HaltLayer[i] >= 0 ? trace.HaltLayer[i] : trace.FusionLayer[i] >= 0 ? trace.FusionLayer[i] : layers;
            double beta = quantized && trace.Bits[i] is 2 or 4 or 8 ? FlopsModel.Beta(trace.Bits[i]) : 1;
            for (int l = 0; l < ran; l++)
            {
                double p = model.Blocks[l].ProjectionFlopsPerToken;
                projection += p;
                weighted += l >= decision ? p * beta : p;
            }
        }
        double attention = Math.Max(0, stats.LayerFlops - projection);
        return weighted + attention + stats.RouterFlops;
    }
}
