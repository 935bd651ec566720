namespace QuickSilver.Engine.Runtime;

/// <summary>Per-token record of what the router did, for observability and figures.</summary>
public sealed class TokenTrace
{
    /// <summary>Creates an empty trace for <paramref name="tokens"/> tokens and <paramref name="layers"/> layers.</summary>
    public TokenTrace(int tokens, int layers, int firstPosition)
    {
        FirstPosition = firstPosition;
        HaltLayer = Enumerable.Repeat(-1, tokens).ToArray();
        FusedInto = Enumerable.Repeat(-1, tokens).ToArray();
        FusionLayer = Enumerable.Repeat(-1, tokens).ToArray();
        Bits = Enumerable.Repeat(32, tokens).ToArray();
        Drift = new float[tokens, layers];
        Entropy = new float[tokens, layers];
        KvWritten = new bool[tokens, layers];
        for (int t = 0; t < tokens; t++)
            for (int l = 0; l < layers; l++) { Drift[t, l] = float.NaN; Entropy[t, l] = float.NaN; }
    }

    /// <summary>Position of token 0 of this trace.</summary>
    public int FirstPosition { get; }
    /// <summary>Number of blocks each token ran before halting, or −1 when it ran them all.</summary>
    public int[] HaltLayer { get; }
    /// <summary>Index (within this trace) of the super-token a token was absorbed into, or −1.</summary>
    public int[] FusedInto { get; }
    /// <summary>Number of blocks run before the token was absorbed, or −1.</summary>
    public int[] FusionLayer { get; }
    /// <summary>Bits assigned at the decision layer (32 = full precision).</summary>
    public int[] Bits { get; }
    /// <summary>Drift after each block (NaN where not computed).</summary>
    public float[,] Drift { get; }
    /// <summary>Logit-lens entropy after each block, nats (NaN where not computed).</summary>
    public float[,] Entropy { get; }
    /// <summary>Whether the token wrote K/V at each layer.</summary>
    public bool[,] KvWritten { get; }
    /// <summary>‖h_dense − h_qs‖ per token at the final layer (R.3), when run side by side with dense.</summary>
    public float[]? SemanticDrift { get; set; }
}
