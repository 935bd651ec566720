using QuickSilver.Engine.Models;
using TorchSharp;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// The cheap entropy proxy: a rank-r factorization of the head (truncated SVD, computed once per model and rank),
/// so a logit-lens read costs 2·d·r + 2·r·V instead of 2·d·V. Its agreement with the exact entropy is measured by a test.
/// </summary>
public sealed class LowRankLogitLens
{
    private readonly TransformerModel _model;
    private readonly Dictionary<int, (torch.Tensor Down, torch.Tensor Up)> _factors = [];
    private readonly Lock _gate = new();

    /// <summary>Creates the lens; factors are computed on first use.</summary>
    public LowRankLogitLens(TransformerModel model) => _model = model;

    /// <summary>Approximate entropy in nats of each row of (1, n, d).</summary>
    public torch.Tensor Entropy(torch.Tensor hidden, int rank, RuntimeStats stats)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(stats);
        var (down, up) = Factors(rank);
        using var scope = torch.NewDisposeScope();
        var normed = _model.FinalNorm.Apply(hidden).squeeze(0); // (n, d)
        var logp = normed.matmul(down).matmul(up).log_softmax(-1); // (n, V)
        var entropy = -(logp.exp() * logp).sum(-1);
        long n = normed.shape[0], d = _model.Config.HiddenSize, v = _model.Config.VocabSize, r = down.shape[1];
        stats.RouterFlops += n * (2.0 * d * r + 2.0 * r * v + 5.0 * v + 5.0 * d);
        return entropy.MoveToOuterDisposeScope();
    }

    private (torch.Tensor Down, torch.Tensor Up) Factors(int rank)
    {
        lock (_gate)
        {
            int d = _model.Config.HiddenSize;
            rank = Math.Clamp(rank, 1, d);
            if (_factors.TryGetValue(rank, out var cached)) return cached;
            using var scope = torch.NewDisposeScope();
            var (u, s, vh) = torch.linalg.svd(_model.HeadWeight.to(torch.float64), fullMatrices: false); // W (V, d) = U S Vh
            var down = vh.narrow(0, 0, rank).t().to(torch.float32);                          // (d, r)
            var up = (u.narrow(1, 0, rank) * s.narrow(0, 0, rank)).t().to(torch.float32);   // (r, V)
            var factors = (down.DetachFromDisposeScope(), up.DetachFromDisposeScope()); // cached for the model's lifetime
            _factors[rank] = factors;
            return factors;
        }
    }
}
