using QuickSilver.Engine.Models;
using TorchSharp;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// The cheap entropy proxy: a rank-r factorization of the head (truncated SVD, computed once per model) scores
/// the whole vocabulary; the k best candidates are then re-scored exactly with their head rows, and the entropy
/// is taken over these mixed logits. The tokens that carry the probability mass are exact, the tail approximate.
/// Cost per token 2·d·r + 2·r·V + 2·d·k instead of 2·d·V; r = max(8, d/4). Validated against the exact entropy
/// by a test (correlation and mean error on stories260K).
/// </summary>
public sealed class LowRankLogitLens
{
    private readonly TransformerModel _model;
    private readonly Lock _gate = new();
    private (torch.Tensor Down, torch.Tensor Up)? _factors;

    /// <summary>Creates the lens; the factorization is computed on first use.</summary>
    public LowRankLogitLens(TransformerModel model) => _model = model;

    /// <summary>Rank of the factorization.</summary>
    public int Rank => Math.Max(8, _model.Config.HiddenSize / 4);

    /// <summary>Approximate entropy in nats of each row of (1, n, d), with <paramref name="shortlist"/> exactly re-scored candidates.</summary>
    public torch.Tensor Entropy(torch.Tensor hidden, int shortlist, RuntimeStats stats)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(stats);
        var (down, up) = Factors();
        using var scope = torch.NewDisposeScope();
        long d = _model.Config.HiddenSize, v = _model.Config.VocabSize, r = down.shape[1];
        int k = (int)Math.Clamp(shortlist, 1, v);
        var normed = _model.FinalNorm.Apply(hidden).squeeze(0); // (n, d)
        long n = normed.shape[0];
        var logits = normed.matmul(down).matmul(up); // (n, V), approximate
        var candidates = logits.topk(k, -1).indexes; // (n, k)
        var rows = _model.HeadWeight.index_select(0, candidates.reshape(-1)).view(n, k, d); // (n, k, d)
        var exact = rows.matmul(normed.unsqueeze(-1)).squeeze(-1); // (n, k)
        logits = logits.scatter(1, candidates, exact);
        var logp = logits.log_softmax(-1);
        var entropy = -(logp.exp() * logp).sum(-1);
        stats.RouterFlops += n * (2.0 * d * r + 2.0 * r * v + 2.0 * d * k + 5.0 * v + 5.0 * d);
        return entropy.MoveToOuterDisposeScope();
    }

    private (torch.Tensor Down, torch.Tensor Up) Factors()
    {
        lock (_gate)
        {
            if (_factors is { } cached) return cached;
            using var scope = torch.NewDisposeScope();
            int rank = Math.Min(Rank, _model.Config.HiddenSize);
            var (u, s, vh) = torch.linalg.svd(_model.HeadWeight.to(torch.float64), fullMatrices: false); // W (V, d) = U S Vh
            var down = vh.narrow(0, 0, rank).t().to(torch.float32);                        // (d, r)
            var up = (u.narrow(1, 0, rank) * s.narrow(0, 0, rank)).t().to(torch.float32); // (r, V)
            _factors = (down.DetachFromDisposeScope(), up.DetachFromDisposeScope()); // kept for the model's lifetime
            return _factors.Value;
        }
    }
}
