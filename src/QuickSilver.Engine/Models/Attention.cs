using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>
/// Scaled dot-product attention with grouped-query heads and position masks. A static function so
/// that alternatives (eager, returning probabilities) can be swapped in one place.
/// </summary>
public static class Attention
{
    /// <summary>
    /// Attends queries (B, nh, T, hs) at <paramref name="queryPositions"/> (T) over keys/values (B, nkv, Nk, hs) at
    /// <paramref name="keyPositions"/> (Nk): a query sees a key when the key's position is not later than its own.
    /// </summary>
    /// <param name="causalSquare">Keys are exactly the queries' positions 0..T−1 in order: use the kernel's causal flag.</param>
    /// <param name="seesAllKeys">Every key is at or before every query (e.g. one decode query): no mask at all.</param>
    public static torch.Tensor Forward(torch.Tensor q, torch.Tensor k, torch.Tensor v, torch.Tensor queryPositions, torch.Tensor keyPositions, bool causalSquare, bool seesAllKeys)
    {
        using var scope = torch.NewDisposeScope();
        long b = q.shape[0], nh = q.shape[1], t = q.shape[2], hs = q.shape[3];
        long nkv = k.shape[1], nk = k.shape[2];
        long groups = nh / nkv;
        torch.Tensor result;
        if (causalSquare)
        {
            // SDPA has no grouped-query support: repeat K/V to one per query head.
            var kr = groups == 1 ? k : k.repeat_interleave(groups, 1); // (B, nh, Nk, hs)
            var vr = groups == 1 ? v : v.repeat_interleave(groups, 1);
            result = torch.nn.functional.scaled_dot_product_attention(q, kr, vr, null, 0.0, t > 1);
        }
        else
        {
            // Fold the query heads of a group into the sequence axis, so K/V need no copy: (B, nkv, g·T, hs).
            var qg = q.reshape(b, nkv, groups * t, hs);
            torch.Tensor? mask = null;
            if (!seesAllKeys)
            {
                var allowed = keyPositions.unsqueeze(0) <= queryPositions.unsqueeze(1); // (T, Nk)
                mask = groups == 1 ? allowed : allowed.repeat(groups, 1); // (g·T, Nk)
            }
            var og = torch.nn.functional.scaled_dot_product_attention(qg, k, v, mask, 0.0, false);
            result = og.reshape(b, nh, t, hs);
        }
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Eager attention that also returns a causal relevance signal (B, T, Nk): at query row t and key k, the maximum
    /// attention probability any head gave key k from any query row up to and including t (queries are in position
    /// order). A decision about the token at row t reads row t only, so it never sees a later query.
    /// </summary>
    public static (torch.Tensor Output, torch.Tensor MaxReceived) ForwardWithMaxAttention(torch.Tensor q, torch.Tensor k, torch.Tensor v, torch.Tensor queryPositions, torch.Tensor keyPositions, bool causalSquare = false, bool seesAllKeys = false)
    {
        using var scope = torch.NewDisposeScope();
        long nh = q.shape[1], nkv = k.shape[1], hs = q.shape[3];
        long groups = nh / nkv;
        // The output comes from the same kernel as Forward, so asking for the statistic never changes the numbers a pass computes.
        var output = Forward(q, k, v, queryPositions, keyPositions, causalSquare, seesAllKeys); // (B, nh, T, hs)
        var kr = groups == 1 ? k : k.repeat_interleave(groups, 1); // (B, nh, Nk, hs)
        var scores = q.matmul(kr.transpose(-2, -1)) / Math.Sqrt(hs); // (B, nh, T, Nk)
        var allowed = keyPositions.unsqueeze(0) <= queryPositions.unsqueeze(1); // (T, Nk)
        scores = scores.masked_fill(allowed.logical_not(), float.NegativeInfinity);
        var probs = scores.softmax(-1);
        // A running maximum over query rows, not a maximum over all of them: that would let later tokens decide (issue 13).
        var maxReceived = probs.amax([1]).cummax(1).values; // (B, T, Nk)
        return (output.MoveToOuterDisposeScope(), maxReceived.MoveToOuterDisposeScope());
    }
}
