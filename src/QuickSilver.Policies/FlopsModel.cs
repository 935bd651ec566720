namespace QuickSilver.Policies;

/// <summary>FLOPs accounting: the paper's per-layer formula (appendix J) and an exact count for our architectures.</summary>
/// <remarks>
/// <para>Exact counts take one multiply-add as 2 FLOPs and count matrix products only (plus the small per-token signal costs below);
/// norms, activations, rotary embeddings and residual adds are left out, as is usual. N is the number of query tokens processed, N_kv the number of
/// keys each attends to.</para>
/// <para>The paper's formula counts multiply-adds as one (its 4Nd² + 8Nd² is the exact count's 24Nd²/2 for a d→4d GELU MLP with full attention), so
/// the two are not interchangeable: compare ratios (reductions), not absolute numbers, across them.</para>
/// </remarks>
public static class FlopsModel
{
    /// <summary>The paper's attention FLOPs for one layer over N tokens: 4Nd² + 2Nh(d + h·log₂N). The paper does not give the log's base; we take 2.</summary>
    /// <param name="tokens">N.</param>
    /// <param name="hiddenSize">d.</param>
    /// <param name="numHeads">h.</param>
    public static double PaperAttentionFlops(long tokens, int hiddenSize, int numHeads)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(numHeads, 1);
        if (tokens == 0)
        {
            return 0;
        }

        double n = tokens, d = hiddenSize, h = numHeads;
        return (4 * n * d * d) + (2 * n * h * (d + (h * Math.Log2(n))));
    }

    /// <summary>The paper's MLP FLOPs for one layer over N tokens: 8Nd².</summary>
    /// <param name="tokens">N.</param>
    /// <param name="hiddenSize">d.</param>
    public static double PaperMlpFlops(long tokens, int hiddenSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenSize, 1);
        return 8.0 * tokens * hiddenSize * hiddenSize;
    }

    /// <summary>The paper's per-layer FLOPs, attention plus MLP.</summary>
    /// <param name="tokens">N.</param>
    /// <param name="hiddenSize">d.</param>
    /// <param name="numHeads">h.</param>
    public static double PaperLayerFlops(long tokens, int hiddenSize, int numHeads) =>
        PaperAttentionFlops(tokens, hiddenSize, numHeads) + PaperMlpFlops(tokens, hiddenSize);

    /// <summary>The paper's QuickSilver cost Σ_ℓ N_ℓ^active · FLOPs_ℓ · β_ℓ, with FLOPs_ℓ read per token: PaperLayerFlops(N)/N for a context of N tokens.</summary>
    /// <param name="activeTokensPerLayer">N_ℓ^active for each layer.</param>
    /// <param name="betaPerLayer">β_ℓ for each layer (see <see cref="Beta"/>); same length.</param>
    /// <param name="contextTokens">N, the sequence length.</param>
    /// <param name="hiddenSize">d.</param>
    /// <param name="numHeads">h.</param>
    /// <exception cref="ArgumentException">The lists differ in length, or an active count exceeds N.</exception>
    public static double PaperEffectiveFlops(IReadOnlyList<long> activeTokensPerLayer, IReadOnlyList<double> betaPerLayer, long contextTokens, int hiddenSize, int numHeads)
    {
        ArgumentNullException.ThrowIfNull(activeTokensPerLayer);
        ArgumentNullException.ThrowIfNull(betaPerLayer);
        ArgumentOutOfRangeException.ThrowIfLessThan(contextTokens, 1);
        if (activeTokensPerLayer.Count != betaPerLayer.Count)
        {
            throw new ArgumentException($"There are {activeTokensPerLayer.Count} active counts but {betaPerLayer.Count} β values.", nameof(betaPerLayer));
        }

        var perToken = PaperLayerFlops(contextTokens, hiddenSize, numHeads) / contextTokens;
        double total = 0;
        for (var l = 0; l < activeTokensPerLayer.Count; l++)
        {
            var active = activeTokensPerLayer[l];
            if (active < 0 || active > contextTokens)
            {
                throw new ArgumentException($"Layer {l + 1} has {active} active tokens, outside [0, {contextTokens}].", nameof(activeTokensPerLayer));
            }

            var beta = betaPerLayer[l];
            if (!(beta is > 0 and <= 1))
            {
                throw new ArgumentException($"Layer {l + 1} has β = {beta}, outside (0, 1].", nameof(betaPerLayer));
            }

            total += active * perToken * beta;
        }

        return total;
    }

    /// <summary>Q, K, V and O projections of N tokens: 2·N·d·(nh·hs + 2·nkv·hs + nh·hs).</summary>
    /// <param name="shape">The model.</param>
    /// <param name="tokens">N.</param>
    public static long ProjectionFlops(TransformerShape shape, long tokens)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        return checked(2 * tokens * shape.HiddenSize * ((2L * shape.QueryWidth) + (2L * shape.KvWidth)));
    }

    /// <summary>Attention scores and value mixing for N queries each over N_kv keys: 2·2·N·N_kv·nh·hs.</summary>
    /// <param name="shape">The model.</param>
    /// <param name="queries">N.</param>
    /// <param name="keys">N_kv, the keys each query attends to.</param>
    public static long AttentionFlops(TransformerShape shape, long queries, long keys)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentOutOfRangeException.ThrowIfNegative(queries);
        ArgumentOutOfRangeException.ThrowIfNegative(keys);
        return checked(4 * queries * keys * shape.QueryWidth);
    }

    /// <summary>Causal attention for N new tokens after P cached ones: query i (1-based) sees P + i keys, so N·P + N(N+1)/2 query-key pairs at 4·nh·hs each.</summary>
    /// <param name="shape">The model.</param>
    /// <param name="tokens">N, the new tokens.</param>
    /// <param name="pastTokens">P, the tokens already in the cache.</param>
    public static long CausalAttentionFlops(TransformerShape shape, long tokens, long pastTokens = 0)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        ArgumentOutOfRangeException.ThrowIfNegative(pastTokens);
        var pairs = checked((tokens * pastTokens) + (tokens * (tokens + 1) / 2));
        return checked(4 * pairs * shape.QueryWidth);
    }

    /// <summary>The MLP for N tokens: 2·N·d·I·3 (SwiGLU) or 2·N·d·I·2 (GELU).</summary>
    /// <param name="shape">The model.</param>
    /// <param name="tokens">N.</param>
    public static long MlpFlops(TransformerShape shape, long tokens)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        var matrices = shape.Mlp == MlpKind.SwiGlu ? 3L : 2L;
        return checked(2 * tokens * shape.HiddenSize * shape.IntermediateSize * matrices);
    }

    /// <summary>One dense layer for N query tokens, each attending N_kv keys: projections + attention + MLP.</summary>
    /// <param name="shape">The model.</param>
    /// <param name="queries">N.</param>
    /// <param name="keys">N_kv.</param>
    public static long LayerFlops(TransformerShape shape, long queries, long keys) =>
        checked(ProjectionFlops(shape, queries) + AttentionFlops(shape, queries, keys) + MlpFlops(shape, queries));

    /// <summary>One dense layer over N new tokens after P cached ones, with causal attention.</summary>
    /// <param name="shape">The model.</param>
    /// <param name="tokens">N.</param>
    /// <param name="pastTokens">P.</param>
    public static long CausalLayerFlops(TransformerShape shape, long tokens, long pastTokens = 0) =>
        checked(ProjectionFlops(shape, tokens) + CausalAttentionFlops(shape, tokens, pastTokens) + MlpFlops(shape, tokens));

    /// <summary>The output head for N tokens: 2·N·d·|V|.</summary>
    /// <param name="shape">The model.</param>
    /// <param name="tokens">N.</param>
    public static long LogitsFlops(TransformerShape shape, long tokens)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        return checked(2 * tokens * shape.HiddenSize * shape.VocabSize);
    }

    /// <summary>A dense forward pass over N new tokens after P cached ones: L causal layers plus the output head for every new token.</summary>
    /// <param name="shape">The model.</param>
    /// <param name="tokens">N.</param>
    /// <param name="pastTokens">P.</param>
    public static long DenseForwardFlops(TransformerShape shape, long tokens, long pastTokens = 0) =>
        checked((shape.NumLayers * CausalLayerFlops(shape, tokens, pastTokens)) + LogitsFlops(shape, tokens));

    /// <summary>The logit-lens entropy signal for one token at one layer: head matmul 2·d·|V| plus softmax and entropy ≈ 5·|V| (max, subtract-exp, sum, p·log p, sum); the final norm's O(d) is left out.</summary>
    /// <param name="shape">The model.</param>
    public static long EntropySignalFlopsPerToken(TransformerShape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return checked((2L * shape.HiddenSize * shape.VocabSize) + (5L * shape.VocabSize));
    }

    /// <summary>The logit-lens entropy signal for N tokens at one layer.</summary>
    /// <param name="shape">The model.</param>
    /// <param name="tokens">N.</param>
    public static long LogitLensFlops(TransformerShape shape, long tokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        return checked(tokens * EntropySignalFlopsPerToken(shape));
    }

    /// <summary>Propagating a halted token's K and V at one deeper layer from its frozen state: 2·d·d_kv for each of K and V.</summary>
    /// <param name="shape">The model.</param>
    public static long KvPropagationFlopsPerToken(TransformerShape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return checked(2L * shape.HiddenSize * shape.KvWidth * 2);
    }

    /// <summary>The drift signal for one token at one layer: subtract, square and accumulate, 3·d.</summary>
    /// <param name="shape">The model.</param>
    public static long DriftFlopsPerToken(TransformerShape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return 3L * shape.HiddenSize;
    }

    /// <summary>The paper's cost factor of a bit width relative to 8 bits: β(8) = 1, β(4) = 0.5, β(2) = 0.25.</summary>
    /// <param name="bits">2, 4 or 8.</param>
    /// <exception cref="ArgumentOutOfRangeException">Any other width.</exception>
    public static double Beta(int bits) => bits switch
    {
        8 => 1.0,
        4 => 0.5,
        2 => 0.25,
        _ => throw new ArgumentOutOfRangeException(nameof(bits), bits, "Bit widths are 2, 4 or 8."),
    };

    /// <summary>Σ_t flopsPerToken·β(bits_t): the β-weighted cost of tokens whose dense cost is <paramref name="flopsPerToken"/> each.</summary>
    /// <param name="flopsPerToken">The dense cost of one token.</param>
    /// <param name="bitsPerToken">Each token's bit width.</param>
    public static double BetaWeightedFlops(double flopsPerToken, ReadOnlySpan<int> bitsPerToken)
    {
        if (!double.IsFinite(flopsPerToken) || flopsPerToken < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(flopsPerToken), flopsPerToken, "The per-token cost must be a finite number of 0 or more.");
        }

        double sum = 0;
        foreach (var bits in bitsPerToken)
        {
            sum += Beta(bits);
        }

        return flopsPerToken * sum;
    }
}
