namespace QuickSilver.Engine.Runtime;

/// <summary>What the QuickSilver runtime did during one forward pass or one request, accumulated.</summary>
public sealed class RuntimeStats
{
    /// <summary>Token-layers that ran (active tokens summed over layers).</summary>
    public long ActiveTokenLayers { get; set; }
    /// <summary>Token-layers skipped because the token had halted.</summary>
    public long HaltedTokenLayers { get; set; }
    /// <summary>Token-layers skipped because the token had been absorbed by fusion.</summary>
    public long FusedTokenLayers { get; set; }
    /// <summary>Number of fusion events (tokens absorbed into a super-token).</summary>
    public long FusedTokens { get; set; }
    /// <summary>K/V entries not written because of KV skipping.</summary>
    public long SkippedKvWrites { get; set; }
    /// <summary>K/V entries written.</summary>
    public long KvWrites { get; set; }
    /// <summary>K/V entries computed from a halted token's frozen state (propagation).</summary>
    public long PropagatedKvWrites { get; set; }
    /// <summary>FLOPs a dense forward would have spent (paper's J formula, same token count).</summary>
    public double DenseFlops { get; set; }
    /// <summary>FLOPs actually spent by the layers on active tokens, without the router's signals.</summary>
    public double LayerFlops { get; set; }
    /// <summary>FLOPs spent by the router itself (drift, logit-lens entropy, fusion distances, propagation, quantization).</summary>
    public double RouterFlops { get; set; }
    /// <summary>Paper's β-weighted FLOPs (8-bit = 1, 4-bit = 0.5, 2-bit = 0.25), a separate, labelled figure.</summary>
    public double BetaWeightedFlops { get; set; }
    /// <summary>Tokens assigned 8, 4 and 2 bits.</summary>
    public long Tokens8Bit { get; set; }
    /// <summary>Tokens assigned 4 bits.</summary>
    public long Tokens4Bit { get; set; }
    /// <summary>Tokens assigned 2 bits.</summary>
    public long Tokens2Bit { get; set; }
    /// <summary>Bytes held by the K/V cache at the end.</summary>
    public long KvBytes { get; set; }
    /// <summary>Bytes a dense float32 K/V cache would hold for the same tokens.</summary>
    public long DenseKvBytes { get; set; }
    /// <summary>Host synchronizations made by the router (each is a device-to-host copy).</summary>
    public long RouterHostSyncs { get; set; }

    /// <summary>Active tokens (tokens that ran the block) per layer, summed over passes.</summary>
    public List<long> ActivePerLayer { get; } = [];

    /// <summary>Adds <paramref name="count"/> active tokens at <paramref name="layer"/>.</summary>
    public void AddActive(int layer, long count)
    {
        while (ActivePerLayer.Count <= layer) ActivePerLayer.Add(0);
        ActivePerLayer[layer] += count;
        ActiveTokenLayers += count;
    }

    /// <summary>Actual FLOPs: layers plus router.</summary>
    public double ActualFlops => LayerFlops + RouterFlops;

    /// <summary>Fraction of dense FLOPs saved, router cost included.</summary>
    public double FlopsReduction => DenseFlops > 0 ? 1 - ActualFlops / DenseFlops : 0;

    /// <summary>Adds another set of counts to this one.</summary>
    public void Add(RuntimeStats other)
    {
        ArgumentNullException.ThrowIfNull(other);
        ActiveTokenLayers += other.ActiveTokenLayers;
        HaltedTokenLayers += other.HaltedTokenLayers;
        FusedTokenLayers += other.FusedTokenLayers;
        FusedTokens += other.FusedTokens;
        SkippedKvWrites += other.SkippedKvWrites;
        KvWrites += other.KvWrites;
        PropagatedKvWrites += other.PropagatedKvWrites;
        DenseFlops += other.DenseFlops;
        LayerFlops += other.LayerFlops;
        RouterFlops += other.RouterFlops;
        BetaWeightedFlops += other.BetaWeightedFlops;
        Tokens8Bit += other.Tokens8Bit;
        Tokens4Bit += other.Tokens4Bit;
        Tokens2Bit += other.Tokens2Bit;
        KvBytes = other.KvBytes;
        DenseKvBytes = other.DenseKvBytes;
        RouterHostSyncs += other.RouterHostSyncs;
        for (int l = 0; l < other.ActivePerLayer.Count; l++)
        {
            while (ActivePerLayer.Count <= l) ActivePerLayer.Add(0);
            ActivePerLayer[l] += other.ActivePerLayer[l];
        }
    }
}
