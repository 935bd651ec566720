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
        ["phi3"] = new() { Name = "phi3" },
        ["gemma"] = new() { Name = "gemma", FeedForward = FeedForwardKind.GeGlu, ScaleEmbeddingBySqrtWidth = true },
        ["gemma2"] = new()
        {
            Name = "gemma2", FeedForward = FeedForwardKind.GeGlu, ScaleEmbeddingBySqrtWidth = true, SlidingWindowPeriod = 2,
            RequiresSlidingWindow = true, SoftCaps = true, WideQueryScaleLayerCount = 46,
        },
        ["gemma3"] = new()
        {
            Name = "gemma3", FeedForward = FeedForwardKind.GeGlu, ScaleEmbeddingBySqrtWidth = true, SlidingWindowPeriod = 6,
            LocalRopeTheta = 10000f, SoftCaps = true, WideQueryScaleLayerCount = 62,
        },
    };

    /// <summary>
    /// The Llama-shaped families share one tensor layout: attn_q/k/v/output (or Phi-3's fused attn_qkv), ffn_gate/up/down
    /// (or Phi-3's fused [gate | up] ffn_up), optional q/k/v biases, per-head attn_q_norm/attn_k_norm, post-attention/post-FFN
    /// norms, and RoPE factor tensors. Gemma's converter already stores its norms as 1 + w, so they load as they are.
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
        int rotaryDim = file.TryGetUInt32(k + "rope.dimension_count", out uint ropeDims) ? (int)Math.Min(ropeDims, int.MaxValue) : headDim;
        if (rotaryDim <= 0 || rotaryDim > headDim || rotaryDim % 2 != 0 || (family.InterleavedRope && rotaryDim != headDim))
            throw new ModelFormatException(path, $"metadata '{k}rope.dimension_count' is {ropeDims} but the head width is {headDim}; it must be even and at most the head width ({family.Name} rotates the whole head, as llama.cpp requires).");
        if (file.TryGetUInt32(k + "expert_count", out uint experts) && experts > 0)
            throw new ModelFormatException(path, $"metadata '{k}expert_count' is {experts}; mixture-of-experts models are not supported.");
        int layers = Int(file, k + "block_count");
        float theta = file.TryGetFloat32(k + "rope.freq_base", out float baseFrequency) ? baseFrequency : 10000f;

        (int window, bool[]? localLayers) = SlidingWindowOf(file, family, k, layers);
        float? localTheta = file.TryGetFloat32(k + "rope.freq_base_swa", out float swaBase) ? swaBase : family.LocalRopeTheta;
        int contextLength = Int(file, k + "context_length");

        int vocab = VocabFromEmbedding(file, d);
        bool hasOutput = file.TryGetTensor("output.weight", out _);
        bool attentionBias = file.TryGetTensor("blk.0.attn_q.bias", out _) || file.TryGetTensor("blk.0.attn_qkv.bias", out _);
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
            MaxPositions = contextLength,
            NormEps = file.TryGetFloat32(k + "attention.layer_norm_rms_epsilon", out float eps) ? eps : 1e-5f,
            RopeTheta = theta,
            RotaryDim = rotaryDim == headDim ? 0 : rotaryDim,
            RopeScaling = GgufRopeScaling.Read(file, k, rotaryDim, contextLength),
            RopeLocalTheta = window > 0 ? localTheta : null,
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
            AttentionScale = family.WideQueryScaleLayerCount == 0 ? null
                : layers == family.WideQueryScaleLayerCount ? 1f / MathF.Sqrt((float)d / heads) : 1f / MathF.Sqrt(headDim),
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
            if (file.TryGetTensor(p + "attn_qkv.weight", out _))
            {
                // Phi-3: one [q | k | v] matrix, NEOX order (never interleaved).
                if (attentionBias) throw new ModelFormatException(path, $"tensor '{p}attn_qkv.bias': fused q/k/v biases are not supported.");
                foreach (HostTensor part in Fused(p + "attn_qkv.weight", d, (WeightNames.Query(layer), qRows), (WeightNames.Key(layer), kvRows), (WeightNames.Value(layer), kvRows)))
                    builder.Add(part);
            }
            else
            {
                builder.Add(Matrix(p + "attn_q.weight", WeightNames.Query(layer), [qRows, d], heads));
                builder.Add(Matrix(p + "attn_k.weight", WeightNames.Key(layer), [kvRows, d], kvHeads));
                builder.Add(Matrix(p + "attn_v.weight", WeightNames.Value(layer), [kvRows, d], 0));
            }
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
            if (file.TryGetTensor(p + "ffn_gate.weight", out _))
            {
                builder.Add(Matrix(p + "ffn_gate.weight", WeightNames.Gate(layer), [inner, d], 0));
                builder.Add(Matrix(p + "ffn_up.weight", WeightNames.Up(layer), [inner, d], 0));
            }
            else
            {
                // Phi-3: ffn_up holds [gate | up]; llama.cpp's fused SwiGLU takes the first half as the gate.
                foreach (HostTensor part in Fused(p + "ffn_up.weight", d, (WeightNames.Gate(layer), inner), (WeightNames.Up(layer), inner)))
                    builder.Add(part);
            }
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
            // The float permutation applied to row indices gives, for each destination row, its source row.
            int[]? order = rotaryHeads > 0 && family.InterleavedRope
                ? [.. Unrotate([.. Enumerable.Range(0, (int)shape[0]).Select(i => (float)i)], rotaryHeads, 1).Select(i => (int)i)]
                : null;
            // Float weights stay in the file until the model's tensor is filled from it: no whole-file float[] copy at load.
            if (!keepQuantized || !GgufBlockReader.CanKeepPacked(info))
                return new HostTensor(target, shape, new GgufTensorSlice(file, info, 0, shape[0], order));
            var packed = GgufBlockReader.ReadPacked(file, info);
            if (order is not null) packed = packed.PermuteRows(order);
            return new HostTensor(target, shape, packed);
        }

        // A fused matrix of row blocks, split into its canonical parts (packed parts stay packed).
        IEnumerable<HostTensor> Fused(string source, long columns, params (string Target, long Rows)[] parts)
        {
            HostTensor all = Matrix(source, source, [parts.Sum(part => part.Rows), columns], 0);
            long start = 0;
            foreach ((string target, long rows) in parts)
            {
                yield return all.Packed is { } packed
                    ? new HostTensor(target, [rows, columns], packed.SliceRows((int)start, (int)rows))
                    : new HostTensor(target, [rows, columns], all.Slice!.SliceRows(start, rows));
                start += rows;
            }
        }

        float[] Unrotate(float[] rows, int headCount, int columns) =>
            family.InterleavedRope ? RopePermutation.InterleavedToRotateHalf(rows, headCount, headDim, columns) : rows;
    }

    /// <summary>
    /// The window and its layers: <c>{arch}.attention.sliding_window</c>, with the local layers from
    /// <c>{arch}.attention.sliding_window_pattern</c> (a period, or one bool per layer) or the family's period.
    /// </summary>
    private static (int Window, bool[]? LocalLayers) SlidingWindowOf(GgufFile file, GgufDecoderFamily family, string k, int layers)
    {
        string key = k + "attention.sliding_window";
        if (!file.TryGetUInt32(key, out uint value))
        {
            if (family.RequiresSlidingWindow) throw new ModelFormatException(file.Path, $"metadata '{key}' is missing.");
            return (0, null);
        }
        int window = ToInt(file, key, value);
        if (window == 0) return (0, null);
        string patternKey = k + "attention.sliding_window_pattern";
        int period = family.SlidingWindowPeriod;
        if (file.Metadata.TryGetValue(patternKey, out object? rawPattern) && rawPattern is Array && file.TryGetArray(patternKey, out bool[]? perLayer))
        {
            if (perLayer.Length != layers)
                throw new ModelFormatException(file.Path, $"metadata '{patternKey}' lists {perLayer.Length} layers but the model has {layers}.");
            return perLayer.Any(x => x) ? (window, perLayer) : (0, null);
        }
        if (file.TryGetUInt32(patternKey, out uint periodValue)) period = (int)Math.Min(periodValue, int.MaxValue);
        // llama.cpp's set_swa_pattern(n): layer l is local when l mod n < n − 1; n ≤ 1 means every layer.
        bool[]? local = period > 1 ? Enumerable.Range(0, layers).Select(l => l % period < period - 1).ToArray() : null;
        return (window, local);
    }
}
