using QuickSilver.Engine.Models;

namespace QuickSilver.Engine.Loading;

public static partial class GgufLoader
{
    /// <summary>The GGUF architectures of the Llama shape this loader reads, keyed by general.architecture.</summary>
    private static readonly Dictionary<string, GgufDecoderFamily> LlamaFamilies = new(StringComparer.Ordinal)
    {
        ["llama"] = new() { Name = "llama", InterleavedRope = true },
        ["qwen2"] = new() { Name = "qwen2" },
        ["qwen3"] = new() { Name = "qwen3" },
    };

    /// <summary>
    /// The Llama-shaped families share one tensor layout: attn_q/k/v/output, ffn_gate/up/down, optional q/k/v biases,
    /// per-head attn_q_norm/attn_k_norm, post-attention/post-FFN norms and rope_freqs.weight.
    /// </summary>
    private static CheckpointData LoadLlama(GgufFile file, GgufDecoderFamily family, Dictionary<string, string> metadata, bool keepQuantized)
    {
        string path = file.Path;
        string k = family.Name + ".";
        int d = Int(file, k + "embedding_length");
        int heads = Int(file, k + "attention.head_count");
        int kvHeads = file.TryGetUInt32(k + "attention.head_count_kv", out uint kv) ? ToInt(file, k + "attention.head_count_kv", kv) : heads;
        if (heads <= 0 || (!file.Metadata.ContainsKey(k + "attention.key_length") && d % heads != 0))
            throw new ModelFormatException(path, $"metadata '{k}embedding_length' ({d}) is not a multiple of '{k}attention.head_count' ({heads}).");
        int headDim = file.Metadata.ContainsKey(k + "attention.key_length") ? Int(file, k + "attention.key_length") : d / heads;
        if (file.TryGetUInt32(k + "attention.value_length", out uint valueDim) && valueDim != (uint)headDim)
            throw new ModelFormatException(path, $"metadata '{k}attention.value_length' is {valueDim} but the key width is {headDim}; differing key and value widths are not supported.");
        if (file.TryGetUInt32(k + "rope.dimension_count", out uint ropeDims) && ropeDims != (uint)headDim)
            throw new ModelFormatException(path, $"metadata '{k}rope.dimension_count' is {ropeDims} but the head width is {headDim}; partial rotary embeddings are not supported.");
        if (file.TryGetUInt32(k + "expert_count", out uint experts) && experts > 0)
            throw new ModelFormatException(path, $"metadata '{k}expert_count' is {experts}; mixture-of-experts models are not supported.");
        int layers = Int(file, k + "block_count");
        float theta = file.TryGetFloat32(k + "rope.freq_base", out float baseFrequency) ? baseFrequency : 10000f;

        int window = 0;
        if (file.TryGetUInt32(k + "attention.sliding_window", out uint windowValue)) window = ToInt(file, k + "attention.sliding_window", windowValue);
        else if (family.RequiresSlidingWindow) throw new ModelFormatException(path, $"metadata '{k}attention.sliding_window' is missing.");
        bool[]? localLayers = window > 0 && family.SlidingWindowPeriod > 1
            ? Enumerable.Range(0, layers).Select(l => l % family.SlidingWindowPeriod < family.SlidingWindowPeriod - 1).ToArray()
            : null;

        int vocab = VocabFromEmbedding(file, d);
        bool hasOutput = file.TryGetTensor("output.weight", out _);
        bool attentionBias = file.TryGetTensor("blk.0.attn_q.bias", out _);
        bool qkNorm = file.TryGetTensor("blk.0.attn_q_norm.weight", out _);
        bool postNorms = file.TryGetTensor("blk.0.post_attention_norm.weight", out _);

        var config = new ModelConfig
        {
            Architecture = family.Name,
            VocabSize = vocab,
            HiddenSize = d,
            NumLayers = layers,
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = headDim,
            IntermediateSize = Int(file, k + "feed_forward_length"),
            MaxPositions = Int(file, k + "context_length"),
            NormEps = file.TryGetFloat32(k + "attention.layer_norm_rms_epsilon", out float eps) ? eps : 1e-5f,
            RopeTheta = theta,
            RopeScaling = GgufRopeScaling.Read(file, k, headDim),
            RopeLocalTheta = window > 0 ? family.LocalRopeTheta : null,
            SlidingWindow = window,
            SlidingWindowLayers = localLayers,
            Norm = NormKind.RmsNorm,
            Positions = PositionEncodingKind.Rotary,
            FeedForward = family.FeedForward,
            AttentionBias = attentionBias,
            MlpBias = false,
            QueryKeyNorm = qkNorm,
            PostNorms = postNorms,
            EmbeddingScale = family.ScaleEmbeddingBySqrtWidth ? MathF.Sqrt(d) : 1f,
            AttentionScale = family.WideQueryScaleLayerCount > 0 && layers == family.WideQueryScaleLayerCount ? 1f / MathF.Sqrt((float)d / heads) : null,
            AttentionSoftCap = family.SoftCaps && file.TryGetFloat32(k + "attn_logit_softcapping", out float attentionCap) ? attentionCap : 0f,
            FinalLogitSoftCap = family.SoftCaps && file.TryGetFloat32(k + "final_logit_softcapping", out float finalCap) ? finalCap : 0f,
            TiedEmbeddings = !hasOutput,
            BosTokenId = TokenId(file, "tokenizer.ggml.bos_token_id"),
            EosTokenId = TokenId(file, "tokenizer.ggml.eos_token_id"),
        };
        config.Validate(path);

        var builder = new CheckpointBuilder(config, path);
        long inner = config.IntermediateSize;
        long qRows = (long)heads * headDim, kvRows = (long)kvHeads * headDim;
        builder.Add(Matrix("token_embd.weight", WeightNames.Embedding, [vocab, d], 0));
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            string p = $"blk.{layer}.";
            builder.Add(WeightNames.AttnNormWeight(layer), [d], Read(file, p + "attn_norm.weight", [d]));
            builder.Add(Matrix(p + "attn_q.weight", WeightNames.Query(layer), [qRows, d], heads));
            builder.Add(Matrix(p + "attn_k.weight", WeightNames.Key(layer), [kvRows, d], kvHeads));
            builder.Add(Matrix(p + "attn_v.weight", WeightNames.Value(layer), [kvRows, d], 0));
            builder.Add(Matrix(p + "attn_output.weight", WeightNames.Output(layer), [d, qRows], 0));
            if (attentionBias)
            {
                builder.Add(WeightNames.BiasOf(WeightNames.Query(layer)), [qRows], Unrotate(Read(file, p + "attn_q.bias", [qRows]), heads, 1));
                builder.Add(WeightNames.BiasOf(WeightNames.Key(layer)), [kvRows], Unrotate(Read(file, p + "attn_k.bias", [kvRows]), kvHeads, 1));
                builder.Add(WeightNames.BiasOf(WeightNames.Value(layer)), [kvRows], Read(file, p + "attn_v.bias", [kvRows]));
                builder.Add(WeightNames.BiasOf(WeightNames.Output(layer)), [d], file.TryGetTensor(p + "attn_output.bias", out _) ? Read(file, p + "attn_output.bias", [d]) : new float[d]);
            }
            if (qkNorm)
            {
                // A per-head norm weight is permuted like one head's rows when the file is interleaved.
                builder.Add(WeightNames.QueryNorm(layer), [headDim], Unrotate(Read(file, p + "attn_q_norm.weight", [headDim]), 1, 1));
                builder.Add(WeightNames.KeyNorm(layer), [headDim], Unrotate(Read(file, p + "attn_k_norm.weight", [headDim]), 1, 1));
            }
            if (postNorms)
            {
                builder.Add(WeightNames.PostAttnNorm(layer), [d], Read(file, p + "post_attention_norm.weight", [d]));
                builder.Add(WeightNames.PostMlpNorm(layer), [d], Read(file, p + "post_ffw_norm.weight", [d]));
            }
            builder.Add(WeightNames.MlpNormWeight(layer), [d], Read(file, p + "ffn_norm.weight", [d]));
            builder.Add(Matrix(p + "ffn_gate.weight", WeightNames.Gate(layer), [inner, d], 0));
            builder.Add(Matrix(p + "ffn_up.weight", WeightNames.Up(layer), [inner, d], 0));
            builder.Add(Matrix(p + "ffn_down.weight", WeightNames.Down(layer), [d, inner], 0));
        }
        builder.Add(WeightNames.FinalNormWeight, [d], Read(file, "output_norm.weight", [d]));
        if (hasOutput) builder.Add(Matrix("output.weight", WeightNames.LmHead, [vocab, d], 0));
        return builder.Build(tokenizer: null, metadata);

        // A matrix, packed when the kernels can multiply its type; rotaryHeads > 0 un-interleaves q/k rows head by head.
        HostTensor Matrix(string source, string target, long[] shape, int rotaryHeads)
        {
            GgufTensorInfo info = file.TryGetTensor(source, out GgufTensorInfo? found) ? found : throw new ModelFormatException(path, $"missing tensor '{source}'.");
            CheckpointBuilder.ExpectShape(path, source, shape, info.Shape);
            if (!keepQuantized || !GgufBlockReader.CanKeepPacked(info))
            {
                float[] values = file.ReadTensorData(info);
                return new HostTensor(target, shape, rotaryHeads > 0 ? Unrotate(values, rotaryHeads, (int)shape[1]) : values);
            }
            var packed = GgufBlockReader.ReadPacked(file, info);
            if (rotaryHeads > 0 && family.InterleavedRope)
            {
                // The float permutation applied to row indices gives, for each destination row, its source row.
                float[] order = Unrotate([.. Enumerable.Range(0, (int)shape[0]).Select(i => (float)i)], rotaryHeads, 1);
                packed = packed.PermuteRows([.. order.Select(i => (int)i)]);
            }
            return new HostTensor(target, shape, packed);
        }

        float[] Unrotate(float[] rows, int headCount, int columns) =>
            family.InterleavedRope ? RopePermutation.InterleavedToRotateHalf(rows, headCount, headDim, columns) : rows;
    }
}
