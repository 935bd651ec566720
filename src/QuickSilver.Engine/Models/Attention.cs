using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>
/// Scaled dot-product attention with grouped-query heads and position masks. A static function so
/// that alternatives (eager, returning probabilities) can be swapped in one place. Per-layer differences
/// (score scale, sliding window, soft-cap) come in through <see cref="AttentionOptions"/>.
/// </summary>
public static class Attention
{
    /// <summary>
    /// Attends queries (B, nh, T, hs) at <paramref name="queryPositions"/> (T) over keys/values (B, nkv, Nk, hs) at
    /// <paramref name="keyPositions"/> (Nk): a query sees a key when the key's position is not later than its own
    /// (and, with a window w, later than its own minus w).
    /// </summary>
    /// <param name="causalSquare">Keys are exactly the queries' positions 0..T−1 in order: use the kernel's causal flag.</param>
    /// <param name="seesAllKeys">Every key is at or before every query (e.g. one decode query): no causal mask at all.</param>
    /// <param name="options">Scale, window and soft-cap; null for <see cref="AttentionOptions.Default"/>.</param>
    public static torch.Tensor Forward(torch.Tensor q, torch.Tensor k, torch.Tensor v, torch.Tensor queryPositions, torch.Tensor keyPositions,
        bool causalSquare, bool seesAllKeys, AttentionOptions? options = null)
    {
        options ??= AttentionOptions.Default;
        if (options.SoftCap > 0) return Eager(q, k, v, queryPositions, keyPositions, options).Output;

        using var scope = torch.NewDisposeScope();
        long b = q.shape[0], nh = q.shape[1], t = q.shape[2], hs = q.shape[3];
        long nkv = k.shape[1];
        long groups = nh / nkv;
        // The kernel divides by √hs; a different scale is folded into the queries.
        if (options.Scale is double scale) q = TensorScalars.Times(q, scale * Math.Sqrt(hs));
        if (options.Window is not null) (causalSquare, seesAllKeys) = (false, false);
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
                var allowed = Allowed(queryPositions, keyPositions, options.Window); // (T, Nk)
                mask = groups == 1 ? allowed : allowed.repeat(groups, 1); // (g·T, Nk)
            }
            var og = torch.nn.functional.scaled_dot_product_attention(qg, k, v, mask, 0.0, false);
            result = og.reshape(b, nh, t, hs);
        }
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Attention that also returns a causal relevance signal (B, T, Nk): at query row t and key k, the maximum attention
    /// probability any head gave key k from any query row up to and including t (queries are in position order). A decision
    /// about the token at row t reads row t only, so it never sees a later query. Attention is computed once, explicitly (the
    /// probabilities are needed anyway); its output equals <see cref="Forward"/>'s up to float rounding.
    /// </summary>
    /// <param name="causalSquare">Unused: the explicit path always applies the position mask. Kept for call-site symmetry with <see cref="Forward"/>.</param>
    /// <param name="seesAllKeys">Unused, as <paramref name="causalSquare"/>.</param>
    public static (torch.Tensor Output, torch.Tensor MaxReceived) ForwardWithMaxAttention(torch.Tensor q, torch.Tensor k, torch.Tensor v,
        torch.Tensor queryPositions, torch.Tensor keyPositions, AttentionOptions? options = null, bool causalSquare = false, bool seesAllKeys = false)
    {
        options ??= AttentionOptions.Default;
        var (output, probs) = Eager(q, k, v, queryPositions, keyPositions, options);
        using (probs)
        {
            // A running maximum over query rows, not a maximum over all of them: that would let later tokens decide (issue 13).
            using var perQuery = probs.amax([1]); // (B, T, Nk)
            var (running, indices) = perQuery.cummax(1);
            indices.Dispose();
            return (output, running); // (B, T, Nk)
        }
    }

    /// <summary>Which keys each query sees (T, Nk): key ≤ query, and within the window when there is one.</summary>
    public static torch.Tensor Allowed(torch.Tensor queryPositions, torch.Tensor keyPositions, int? window)
    {
        using var scope = torch.NewDisposeScope();
        var distance = queryPositions.unsqueeze(1) - keyPositions.unsqueeze(0); // (T, Nk)
        var allowed = TensorScalars.AtLeast(distance, 0);
        if (window is int w) allowed = allowed.logical_and(TensorScalars.Below(distance, w));
        return allowed.MoveToOuterDisposeScope();
    }

    /// <summary>Output (B, nh, T, hs) and probabilities (B, nh, T, Nk), computed explicitly.</summary>
    private static (torch.Tensor Output, torch.Tensor Probabilities) Eager(torch.Tensor q, torch.Tensor k, torch.Tensor v,
        torch.Tensor queryPositions, torch.Tensor keyPositions, AttentionOptions options)
    {
        using var scope = torch.NewDisposeScope();
        long nh = q.shape[1], nkv = k.shape[1], hs = q.shape[3];
        long groups = nh / nkv;
        var kr = groups == 1 ? k : k.repeat_interleave(groups, 1); // (B, nh, Nk, hs)
        var vr = groups == 1 ? v : v.repeat_interleave(groups, 1);
        var scores = TensorScalars.Times(q.matmul(kr.transpose(-2, -1)), options.Scale ?? 1.0 / Math.Sqrt(hs)); // (B, nh, T, Nk)
        if (options.SoftCap > 0) scores = TensorScalars.Times(TensorScalars.DividedBy(scores, options.SoftCap).tanh(), options.SoftCap);
        var allowed = Allowed(queryPositions, keyPositions, options.Window); // (T, Nk)
        scores = TensorScalars.MaskedFill(scores, allowed.logical_not(), double.NegativeInfinity);
        var probs = scores.softmax(-1);
        var output = probs.matmul(vr); // (B, nh, T, hs)
        return (output.MoveToOuterDisposeScope(), probs.MoveToOuterDisposeScope());
    }
}
