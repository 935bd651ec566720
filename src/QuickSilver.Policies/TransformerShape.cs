namespace QuickSilver.Policies;

/// <summary>The dimensions of a decoder-only transformer that its FLOPs depend on (see <see cref="FlopsModel"/>).</summary>
public sealed class TransformerShape
{
    /// <summary>Creates a shape.</summary>
    /// <param name="hiddenSize">d.</param>
    /// <param name="numHeads">Query heads nh.</param>
    /// <param name="numKvHeads">Key/value heads nkv (nh for multi-head attention; fewer for grouped-query attention).</param>
    /// <param name="headDim">Head size hs.</param>
    /// <param name="intermediateSize">MLP width I.</param>
    /// <param name="mlp">The MLP kind.</param>
    /// <param name="vocabSize">|V|.</param>
    /// <param name="numLayers">L.</param>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is below 1, or nh is not a multiple of nkv.</exception>
    public TransformerShape(int hiddenSize, int numHeads, int numKvHeads, int headDim, int intermediateSize, MlpKind mlp, int vocabSize, int numLayers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(numHeads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(numKvHeads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(headDim, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(intermediateSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(numLayers, 1);
        if (!Enum.IsDefined(mlp))
        {
            throw new ArgumentOutOfRangeException(nameof(mlp), mlp, "Unknown MLP kind.");
        }

        if (numHeads % numKvHeads != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(numKvHeads), numKvHeads, $"The {numHeads} query heads must be a multiple of the key/value heads.");
        }

        HiddenSize = hiddenSize;
        NumHeads = numHeads;
        NumKvHeads = numKvHeads;
        HeadDim = headDim;
        IntermediateSize = intermediateSize;
        Mlp = mlp;
        VocabSize = vocabSize;
        NumLayers = numLayers;
    }

    /// <summary>d, the residual width.</summary>
    public int HiddenSize { get; }

    /// <summary>nh, the query heads.</summary>
    public int NumHeads { get; }

    /// <summary>nkv, the key/value heads.</summary>
    public int NumKvHeads { get; }

    /// <summary>hs, the head size.</summary>
    public int HeadDim { get; }

    /// <summary>I, the MLP width.</summary>
    public int IntermediateSize { get; }

    /// <summary>The MLP kind.</summary>
    public MlpKind Mlp { get; }

    /// <summary>|V|.</summary>
    public int VocabSize { get; }

    /// <summary>L, the number of blocks.</summary>
    public int NumLayers { get; }

    /// <summary>Width of the query projection, nh·hs.</summary>
    public int QueryWidth => NumHeads * HeadDim;

    /// <summary>Width of each of the key and value projections, d_kv = nkv·hs.</summary>
    public int KvWidth => NumKvHeads * HeadDim;
}
