using TorchSharp;

namespace QuickSilver.Engine.Runtime;

/// <summary>
/// Running mean over the layers run so far of cos(q_t, k_u) (averaged over heads) for every token t and each
/// earlier token u within a window: the attention-similarity signal of fusion (paper 2.3). The paper averages
/// over all L layers, which a decision made at layer ℓ cannot see; we average over the layers seen.
/// </summary>
internal sealed class AttentionSimilarity
{
    private readonly int _window;
    private readonly double[,] _sum;
    private readonly int[,] _count;

    public AttentionSimilarity(int tokens, int window)
    {
        _window = Math.Max(1, window);
        _sum = new double[tokens, _window];
        _count = new int[tokens, _window];
    }

    /// <summary>Adds this layer's similarities for the active tokens: queries (1, nh, Ta, hs), keys (1, nkv, Ta, hs).</summary>
    public void Accumulate(torch.Tensor queries, torch.Tensor keys, IReadOnlyList<int> active, RuntimeStats stats)
    {
        using var scope = torch.NewDisposeScope();
        long nh = queries.shape[1], nkv = keys.shape[1], ta = queries.shape[2], hs = queries.shape[3];
        var k = nh == nkv ? keys : keys.repeat_interleave(nh / nkv, 1);
        var qn = torch.nn.functional.normalize(queries, 2.0, -1);
        var kn = torch.nn.functional.normalize(k, 2.0, -1);
        var cosine = qn.matmul(kn.transpose(-2, -1)).mean([1]).squeeze(0); // (Ta, Ta): row t's query against column u's key
        var host = cosine.data<float>().ToArray();
        stats.RouterHostSyncs++;
        stats.RouterFlops += 2.0 * nh * hs * ta * ta + 6.0 * nh * hs * ta;
        for (int j = 0; j < ta; j++)
            for (int e = j - 1; e >= 0 && active[j] - active[e] <= _window; e--)
            {
                int w = active[j] - active[e] - 1;
                _sum[active[j], w] += host[j * ta + e];
                _count[active[j], w]++;
            }
    }

    /// <summary>Mean similarity of later token <paramref name="later"/>'s query with earlier token <paramref name="earlier"/>'s key, or −1 if never seen.</summary>
    public double Mean(int later, int earlier)
    {
        int w = later - earlier - 1;
        if (w < 0 || w >= _window || _count[later, w] == 0) return -1;
        return _sum[later, w] / _count[later, w];
    }
}
