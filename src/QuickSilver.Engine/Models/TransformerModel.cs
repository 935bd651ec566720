using QuickSilver.Engine.Loading;
using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>
/// A decoder-only transformer's fixed weights: embedding, blocks, final norm and head. Which norm, MLP and
/// position scheme each part uses comes from <see cref="ModelConfig"/>; the code below never asks which family it is.
/// </summary>
public sealed partial class TransformerModel : IDisposable
{
    private readonly LinearWeight _embedding;          // (V, d)
    private readonly torch.Tensor? _positionEmbedding; // (P, d)
    private readonly LinearWeight _head;               // (V, d), may alias the embedding
    private readonly Lazy<torch.Tensor> _headDense;
    private readonly bool _headIsEmbedding;
    private readonly IPositionRotation[] _rotations;   // shared by the blocks: global, and local when it differs

    private TransformerModel(ModelConfig config, torch.Device device, LinearWeight embedding, torch.Tensor? positionEmbedding,
        TransformerBlock[] blocks, INormalization finalNorm, LinearWeight head, bool headIsEmbedding, IPositionRotation[] rotations)
    {
        Config = config;
        Device = device;
        _embedding = embedding;
        _positionEmbedding = positionEmbedding;
        Blocks = blocks;
        FinalNorm = finalNorm;
        _head = head;
        _headIsEmbedding = headIsEmbedding;
        _headDense = new Lazy<torch.Tensor>(() => head is DenseLinearWeight dense ? dense.Weight : head.ToDense());
        _rotations = rotations;
        HeadFlopsPerToken = 2.0 * config.HiddenSize * config.VocabSize;
    }

    /// <summary>The configuration.</summary>
    public ModelConfig Config { get; }

    /// <summary>Where the weights live.</summary>
    public torch.Device Device { get; }

    /// <summary>How the K/V caches the engine makes for this model store keys and values (default float32).</summary>
    public KvCacheType KvCacheType { get; internal set; } = KvCacheType.Float32;

    /// <summary>The blocks, first to last.</summary>
    public IReadOnlyList<TransformerBlock> Blocks { get; }

    /// <summary>The final normalization.</summary>
    public INormalization FinalNorm { get; }

    /// <summary>The output head (V, d) as a float tensor (decoded once, on first use, when the head is held quantized).</summary>
    public torch.Tensor HeadWeight => _headDense.Value;

    /// <summary>The output head as it is held.</summary>
    public LinearWeight Head => _head;

    /// <summary>Every matrix of the model as held (embedding, projections, head; a tied head once), for memory and format reports.</summary>
    public IEnumerable<LinearWeight> Matrices =>
        new[] { _embedding }.Concat(Blocks.SelectMany(b => b.ProjectionWeights)).Concat(_headIsEmbedding ? [] : [_head]);

    /// <summary>FLOPs of the head for one token (2·d·V): also the cost of one exact logit-lens read.</summary>
    public double HeadFlopsPerToken { get; }

    /// <summary>Builds the model on <paramref name="device"/> from loader output; checks every tensor's shape.</summary>
    /// <exception cref="ModelFormatException">A tensor is missing or has the wrong shape.</exception>
    public static TransformerModel Create(CheckpointData checkpoint, torch.Device device) => Create(checkpoint, device, quantizeTo: null);

    /// <summary>
    /// Builds the model; matrices the loader kept packed stay packed (on the CPU), and with <paramref name="quantizeTo"/>
    /// (Q8_0 or Q4_0) float matrices whose rows are whole 32-value blocks are quantized at load.
    /// </summary>
    /// <exception cref="ModelFormatException">A tensor is missing or has the wrong shape.</exception>
    /// <param name="checkpoint">Loader output.</param>
    /// <param name="device">Where float weights go; packed weights need the CPU and are decoded for any other device.</param>
    /// <param name="quantizeTo">Quantize float matrices at load (Q8_0 or Q4_0), or null.</param>
    /// <param name="quantizeActivations">Packed matrices multiply 8-bit block-quantized activations (llama.cpp's way, fast); false multiplies float activations exactly.</param>
    /// <param name="keepHalfPrecision">F16/BF16 matrices the loader kept packed stay 16-bit (unless <paramref name="quantizeTo"/> is set); false widens them to float32.</param>
    /// <exception cref="ArgumentException"><paramref name="quantizeTo"/> is not Q8_0 or Q4_0.</exception>
    /// <param name="bitPlanes">Hold the blocks' Q8_0 projection matrices as nested bit planes (<see cref="BitPlaneLinearWeight"/>), so a
    /// quantization policy with <c>QuantizeWeights</c> reads fewer bytes for low-precision tokens; an untied Q8_0 head too (read at full width
    /// unless the policy's <c>QuantizeHead</c> says otherwise); the embedding (and a head tied to it) stays as it is.</param>
    public static TransformerModel Create(CheckpointData checkpoint, torch.Device device, GgufTensorType? quantizeTo, bool quantizeActivations = true, bool keepHalfPrecision = true, bool bitPlanes = false)
    {
        if (quantizeTo is { } target && !Kernels.QuantizedMatrix.CanQuantizeTo(target))
            throw new ArgumentException($"Weights can be quantized at load to Q8_0 or Q4_0, not {target}.", nameof(quantizeTo));
        ArgumentNullException.ThrowIfNull(checkpoint);
        NativeAllocator.FixMmapThreshold(); // once per process: freed weight-sized buffers go back to the OS (see its remarks)
        var config = checkpoint.Config;
        config.Validate(checkpoint.Source);
        var tensors = checkpoint.Tensors;
        int d = config.HiddenSize, qd = config.NumHeads * config.HeadDim, kvd = config.NumKvHeads * config.HeadDim, inner = config.IntermediateSize;

        torch.Tensor Take(string name, params long[] shape)
        {
            if (!tensors.TryGetValue(name, out var host))
                throw new ModelFormatException(checkpoint.Source, $"tensor '{name}' is missing.");
            if (!host.Shape.SequenceEqual(shape) || host.Length != host.ElementCount)
                throw new ModelFormatException(checkpoint.Source, $"tensor '{name}' has shape [{string.Join(", ", host.Shape)}], expected [{string.Join(", ", shape)}].");
            return HostTensors.ToTensor(host, shape, device);
        }
        // A projection matrix: kept in (or quantized to) ggml blocks on the CPU, a float tensor otherwise.
        LinearWeight Linear(string name, long rows, long columns)
        {
            bool cpu = device.type == DeviceType.CPU;
            // 16-bit float matrices are widened or quantized at load when asked (their Data decodes the blocks).
            if (cpu && tensors.TryGetValue(name, out var host) && host.Packed is { } packed && host.Shape.SequenceEqual([rows, columns])
                && (!Kernels.QuantizedMatrix.IsHalfPrecision(packed.Type) || (keepHalfPrecision && quantizeTo is null)))
                return new PackedLinearWeight(packed, quantizeActivations);
            if (cpu && quantizeTo is { } type && columns % GgmlQuantization.BlockSize == 0 && tensors.TryGetValue(name, out host) && host.Shape.SequenceEqual([rows, columns]))
                return new PackedLinearWeight(Kernels.QuantizedMatrix.Quantize(type, rows, columns, host.Data), quantizeActivations);
            return new DenseLinearWeight(Take(name, rows, columns));
        }
        LinearWeight BlockLinear(string name, long rows, long columns) =>
            bitPlanes && quantizeActivations ? BitPlaneLinearWeight.FromQ8_0(Linear(name, rows, columns)) : Linear(name, rows, columns);
        torch.Tensor? Bias(bool present, string weightName, long size) => present ? Take(WeightNames.BiasOf(weightName), size) : null;

        INormalization Norm(string weightName, string biasName, int? size = null) => config.Norm switch
        {
            NormKind.LayerNorm => new LayerNormalization(Take(weightName, size ?? d), Take(biasName, size ?? d), config.NormEps),
            NormKind.RmsNorm => new RmsNormalization(Take(weightName, size ?? d), config.NormEps),
            _ => throw new ModelFormatException(checkpoint.Source, $"unsupported norm kind {config.Norm}."),
        };
        INormalization? OptionalRms(bool present, string weightName, int size) =>
            present ? new RmsNormalization(Take(weightName, size), config.NormEps) : null;

        // Global layers use the (possibly scaled) base; Gemma 3's local layers their own unscaled base.
        IPositionRotation rotation = config.Positions == PositionEncodingKind.Rotary
            ? new RotaryEmbedding(config.HeadDim, config.MaxPositions, config.RopeTheta, device, config.RopeScaling, config.RotaryDim)
            : new NoRotation();
        IPositionRotation localRotation = config.Positions == PositionEncodingKind.Rotary && config.RopeLocalTheta is float localTheta
            ? new RotaryEmbedding(config.HeadDim, config.MaxPositions, localTheta, device, rotaryDim: config.RotaryDim)
            : rotation;

        var blocks = new TransformerBlock[config.NumLayers];
        for (int i = 0; i < config.NumLayers; i++)
        {
            IFeedForward mlp = config.FeedForward switch
            {
                FeedForwardKind.SwiGlu or FeedForwardKind.GeGlu => new SwiGluFeedForward(
                    BlockLinear(WeightNames.Gate(i), inner, d), Bias(config.MlpBias, WeightNames.Gate(i), inner),
                    BlockLinear(WeightNames.Up(i), inner, d), Bias(config.MlpBias, WeightNames.Up(i), inner),
                    BlockLinear(WeightNames.Down(i), d, inner), Bias(config.MlpBias, WeightNames.Down(i), d),
                    geluGate: config.FeedForward == FeedForwardKind.GeGlu),
                FeedForwardKind.GeluTanh => new GeluFeedForward(
                    BlockLinear(WeightNames.Up(i), inner, d), Bias(config.MlpBias, WeightNames.Up(i), inner),
                    BlockLinear(WeightNames.Down(i), d, inner), Bias(config.MlpBias, WeightNames.Down(i), d)),
                _ => throw new ModelFormatException(checkpoint.Source, $"unsupported feed-forward kind {config.FeedForward}."),
            };
            var extras = new BlockExtras
            {
                Attention = AttentionOptions.ForLayer(config, i),
                QueryNorm = OptionalRms(config.QueryKeyNorm, WeightNames.QueryNorm(i), config.HeadDim),
                KeyNorm = OptionalRms(config.QueryKeyNorm, WeightNames.KeyNorm(i), config.HeadDim),
                PostAttentionNorm = config.PostNorms ? Norm(WeightNames.PostAttnNorm(i), WeightNames.BiasOf(WeightNames.PostAttnNorm(i))) : null,
                PostMlpNorm = config.PostNorms ? Norm(WeightNames.PostMlpNorm(i), WeightNames.BiasOf(WeightNames.PostMlpNorm(i))) : null,
            };
            blocks[i] = new TransformerBlock(config,
                Norm(WeightNames.AttnNormWeight(i), WeightNames.AttnNormBias(i)),
                BlockLinear(WeightNames.Query(i), qd, d), Bias(config.AttentionBias, WeightNames.Query(i), qd),
                BlockLinear(WeightNames.Key(i), kvd, d), Bias(config.AttentionBias, WeightNames.Key(i), kvd),
                BlockLinear(WeightNames.Value(i), kvd, d), Bias(config.AttentionBias, WeightNames.Value(i), kvd),
                BlockLinear(WeightNames.Output(i), d, qd), Bias(config.AttentionBias, WeightNames.Output(i), d),
                Norm(WeightNames.MlpNormWeight(i), WeightNames.MlpNormBias(i)),
                mlp, config.IsLocalLayer(i) ? localRotation : rotation, extras);
        }

        var embedding = Linear(WeightNames.Embedding, config.VocabSize, d);
        var positions = config.Positions == PositionEncodingKind.Learned ? Take(WeightNames.PositionEmbedding, config.MaxPositions, d) : null;
        var finalNorm = Norm(WeightNames.FinalNormWeight, WeightNames.FinalNormBias);
        var head = config.TiedEmbeddings || !tensors.ContainsKey(WeightNames.LmHead) ? null : Linear(WeightNames.LmHead, config.VocabSize, d);
        // An untied Q8_0 head is held as planes too (the same values at 8 bits), so a policy may read it at the token's width.
        if (head is not null && bitPlanes && quantizeActivations) head = BitPlaneLinearWeight.FromQ8_0(head);
        return new TransformerModel(config, device, embedding, positions, blocks, finalNorm, head ?? embedding, head is null,
            ReferenceEquals(localRotation, rotation) ? [rotation] : [rotation, localRotation]);
    }

    /// <summary>Token embeddings (times the config's embedding scale) plus learned positions when the model has them: ids (B, T), positions (T) → (B, T, d).</summary>
    public torch.Tensor Embed(torch.Tensor ids, torch.Tensor positions)
    {
        using var scope = torch.NewDisposeScope();
        var h = _embedding is PackedLinearWeight packed
            ? packed.GatherRows(ids).to(Device) // (B, T, d)
            : ((DenseLinearWeight)_embedding).Weight.index_select(0, ids.reshape(-1)).view(ids.shape[0], ids.shape[1], -1); // (B, T, d)
        if (Config.EmbeddingScale != 1f) h = TensorScalars.Times(h, Config.EmbeddingScale);
        if (_positionEmbedding is not null) h = TensorScalars.Sum(h, _positionEmbedding.index_select(0, positions).unsqueeze(0));
        return h.MoveToOuterDisposeScope();
    }

    /// <summary>Final norm, head and (Gemma 2) soft-cap: (…, d) → (…, V). Applied to an intermediate state, this is the logit lens.</summary>
    public torch.Tensor Logits(torch.Tensor hidden)
    {
        using var scope = torch.NewDisposeScope();
        torch.Tensor logits;
        using (Runtime.WeightPrecision.ForHead()) logits = _head.Apply(FinalNorm.Apply(hidden));
        float cap = Config.FinalLogitSoftCap;
        if (cap > 0) logits = TensorScalars.Times(TensorScalars.DividedBy(logits, cap).tanh(), cap);
        return logits.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var block in Blocks) block.Dispose();
        FinalNorm.Dispose();
        foreach (var rotation in _rotations) rotation.Dispose();
        _embedding.Dispose();
        _positionEmbedding?.Dispose();
        if (!_headIsEmbedding) _head.Dispose();
        if (_headDense.IsValueCreated && _head is not DenseLinearWeight) _headDense.Value.Dispose();
    }
}
