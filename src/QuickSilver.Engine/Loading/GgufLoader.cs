using QuickSilver.Engine.Models;
using QuickSilver.Engine.Quantization;

namespace QuickSilver.Engine.Loading;

/// <summary>
/// Loads GGUF checkpoints of architecture <c>llama</c>, <c>qwen2</c> or <c>gpt2</c> into canonical tensors, dequantizing
/// every type in <see cref="BlockFormats.SupportedTypes"/> and un-interleaving llama q/k rows into rotate-half order (qwen2 is already stored rotate-half). Scalar string metadata (chat template, names, tokenizer
/// model) is copied to <see cref="CheckpointData.Metadata"/>; the vocabulary stays in the file for the tokenizer
/// (read it with <see cref="GgufFile.Read"/>).
/// </summary>
public static class GgufLoader
{
    /// <summary>Loads a GGUF file.</summary>
    /// <param name="path">The .gguf file.</param>
    /// <exception cref="ModelFormatException">Missing, corrupt, unsupported architecture or tensor type, or tensors that do not match the metadata.</exception>
    public static CheckpointData Load(string path) => Load(path, keepQuantized: false);

    /// <summary>Loads a GGUF file, optionally keeping Q8_0/Q4_0 matrices in their blocks (<see cref="HostTensor.Packed"/>) for the quantized kernels.</summary>
    /// <param name="path">The .gguf file.</param>
    /// <param name="keepQuantized">Keep Q8_0/Q4_0 matrices packed instead of decoding them to float32.</param>
    /// <exception cref="ModelFormatException">Missing, corrupt, unsupported architecture or tensor type, or tensors that do not match the metadata.</exception>
    public static CheckpointData Load(string path, bool keepQuantized)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        GgufFile file = GgufFile.Read(path);
        RejectUndecodableTensors(file);
        string architecture = file.Architecture ?? throw new ModelFormatException(path, "metadata 'general.architecture' is missing.");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string key, object value) in file.Metadata)
        {
            if (value is string text) metadata[key] = text;
        }
        return architecture switch
        {
            "llama" or "qwen2" => LoadLlama(file, architecture, metadata, keepQuantized),
            "gpt2" => LoadGpt2(file, metadata),
            _ => throw new ModelFormatException(path, $"metadata 'general.architecture' is '{architecture}', which is not supported (supported: llama, qwen2, gpt2)."),
        };
    }

    /// <summary>Refuses the file before reading any data when a tensor has a type no decoder reads (named with tensor, type and file).</summary>
    private static void RejectUndecodableTensors(GgufFile file)
    {
        foreach (GgufTensorInfo tensor in file.Tensors)
        {
            if (!BlockFormats.TryGet(tensor.Type, out _))
            {
                throw new ModelFormatException(file.Path,
                    $"tensor '{tensor.Name}' has type {BlockFormats.Describe(tensor.Type)}, which QuickSilver cannot load; supported types: {BlockFormats.SupportedList}.");
            }
        }
    }

    /// <summary>
    /// llama and qwen2 share one tensor layout. llama.cpp runs llama with adjacent-pair ("normal") RoPE, so its converter
    /// stores q/k interleaved and we permute them; qwen2 runs with NEOX (rotate-half) RoPE and is stored as HF has it.
    /// </summary>
    private static CheckpointData LoadLlama(GgufFile file, string architecture, Dictionary<string, string> metadata, bool keepQuantized)
    {
        string path = file.Path;
        string k = architecture + ".";
        bool interleaved = architecture == "llama";
        int d = Int(file, k + "embedding_length");
        int heads = Int(file, k + "attention.head_count");
        int kvHeads = file.TryGetUInt32(k + "attention.head_count_kv", out uint kv) ? ToInt(file, k + "attention.head_count_kv", kv) : heads;
        if (heads <= 0 || (!file.Metadata.ContainsKey(k + "attention.key_length") && d % heads != 0))
            throw new ModelFormatException(path, $"metadata '{k}embedding_length' ({d}) is not a multiple of '{k}attention.head_count' ({heads}).");
        int headDim = file.Metadata.ContainsKey(k + "attention.key_length") ? Int(file, k + "attention.key_length") : d / heads;
        if (file.TryGetUInt32(k + "rope.dimension_count", out uint ropeDims) && ropeDims != (uint)headDim)
            throw new ModelFormatException(path, $"metadata '{k}rope.dimension_count' is {ropeDims} but the head width is {headDim}; partial rotary embeddings are not supported.");
        if (file.TryGetString(k + "rope.scaling.type", out string? scaling) && scaling != "none")
            throw new ModelFormatException(path, $"metadata '{k}rope.scaling.type' is '{scaling}'; only unscaled RoPE is supported.");
        if (file.TryGetTensor("rope_freqs.weight", out _))
            throw new ModelFormatException(path, "tensor 'rope_freqs.weight' (per-frequency RoPE scaling, Llama 3.1 style) is not supported.");

        int vocab = VocabFromEmbedding(file, d);
        bool hasOutput = file.TryGetTensor("output.weight", out _);
        bool attentionBias = file.TryGetTensor("blk.0.attn_q.bias", out _);

        var config = new ModelConfig
        {
            Architecture = architecture,
            VocabSize = vocab,
            HiddenSize = d,
            NumLayers = Int(file, k + "block_count"),
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = headDim,
            IntermediateSize = Int(file, k + "feed_forward_length"),
            MaxPositions = Int(file, k + "context_length"),
            NormEps = file.TryGetFloat32(k + "attention.layer_norm_rms_epsilon", out float eps) ? eps : 1e-5f,
            RopeTheta = file.TryGetFloat32(k + "rope.freq_base", out float theta) ? theta : 10000f,
            Norm = NormKind.RmsNorm,
            Positions = PositionEncodingKind.Rotary,
            FeedForward = FeedForwardKind.SwiGlu,
            AttentionBias = attentionBias,
            MlpBias = false,
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
            GgufTensorInfo info = Info(file, source);
            CheckpointBuilder.ExpectShape(file.Path, source, shape, info.Shape);
            if (!keepQuantized || !GgufBlockReader.CanKeepPacked(info))
            {
                float[] values = file.ReadTensorData(info);
                return new HostTensor(target, shape, rotaryHeads > 0 ? Unrotate(values, rotaryHeads, (int)shape[1]) : values);
            }
            var packed = GgufBlockReader.ReadPacked(file, info);
            if (rotaryHeads > 0 && interleaved)
            {
                // The float permutation applied to row indices gives, for each destination row, its source row.
                float[] order = Unrotate([.. Enumerable.Range(0, (int)shape[0]).Select(i => (float)i)], rotaryHeads, 1);
                packed = packed.PermuteRows([.. order.Select(i => (int)i)]);
            }
            return new HostTensor(target, shape, packed);
        }

        float[] Unrotate(float[] rows, int headCount, int columns) =>
            interleaved ? RopePermutation.InterleavedToRotateHalf(rows, headCount, headDim, columns) : rows;
    }

    private static CheckpointData LoadGpt2(GgufFile file, Dictionary<string, string> metadata)
    {
        string path = file.Path;
        int d = Int(file, "gpt2.embedding_length");
        int heads = Int(file, "gpt2.attention.head_count");
        if (heads <= 0 || d % heads != 0)
            throw new ModelFormatException(path, $"metadata 'gpt2.embedding_length' ({d}) is not a multiple of 'gpt2.attention.head_count' ({heads}).");
        int vocab = VocabFromEmbedding(file, d);
        bool hasOutput = file.TryGetTensor("output.weight", out _);

        var config = new ModelConfig
        {
            Architecture = "gpt2",
            VocabSize = vocab,
            HiddenSize = d,
            NumLayers = Int(file, "gpt2.block_count"),
            NumHeads = heads,
            NumKvHeads = heads,
            HeadDim = d / heads,
            IntermediateSize = Int(file, "gpt2.feed_forward_length"),
            MaxPositions = Int(file, "gpt2.context_length"),
            NormEps = file.TryGetFloat32("gpt2.attention.layer_norm_epsilon", out float eps) ? eps : 1e-5f,
            Norm = NormKind.LayerNorm,
            Positions = PositionEncodingKind.Learned,
            FeedForward = FeedForwardKind.GeluTanh,
            AttentionBias = true,
            MlpBias = true,
            TiedEmbeddings = !hasOutput,
            BosTokenId = TokenId(file, "tokenizer.ggml.bos_token_id"),
            EosTokenId = TokenId(file, "tokenizer.ggml.eos_token_id"),
        };
        config.Validate(path);

        var builder = new CheckpointBuilder(config, path);
        long inner = config.IntermediateSize;
        builder.Add(WeightNames.Embedding, [vocab, d], Read(file, "token_embd.weight", [vocab, d]));
        builder.Add(WeightNames.PositionEmbedding, [config.MaxPositions, d], Read(file, "position_embd.weight", [config.MaxPositions, d]));
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            string p = $"blk.{layer}.";
            Norm(p + "attn_norm", WeightNames.AttnNormWeight(layer), WeightNames.AttnNormBias(layer));
            // llama.cpp's converter already transposed GPT-2's Conv1D weights: attn_qkv is [3d, d] with q|k|v row blocks.
            float[] qkv = Read(file, p + "attn_qkv.weight", [3L * d, d]);
            float[] qkvBias = Read(file, p + "attn_qkv.bias", [3L * d]);
            string[] targets = [WeightNames.Query(layer), WeightNames.Key(layer), WeightNames.Value(layer)];
            for (int part = 0; part < 3; part++)
            {
                builder.Add(targets[part], [d, d], qkv.AsSpan(part * d * d, d * d).ToArray());
                builder.Add(WeightNames.BiasOf(targets[part]), [d], qkvBias.AsSpan(part * d, d).ToArray());
            }
            Linear(p + "attn_output", WeightNames.Output(layer), d, d);
            Norm(p + "ffn_norm", WeightNames.MlpNormWeight(layer), WeightNames.MlpNormBias(layer));
            Linear(p + "ffn_up", WeightNames.Up(layer), inner, d);
            Linear(p + "ffn_down", WeightNames.Down(layer), d, inner);
        }
        Norm("output_norm", WeightNames.FinalNormWeight, WeightNames.FinalNormBias);
        if (hasOutput) builder.Add(WeightNames.LmHead, [vocab, d], Read(file, "output.weight", [vocab, d]));
        return builder.Build(tokenizer: null, metadata);

        void Norm(string source, string weight, string bias)
        {
            builder.Add(weight, [d], Read(file, source + ".weight", [d]));
            builder.Add(bias, [d], Read(file, source + ".bias", [d]));
        }

        void Linear(string source, string target, long rows, long columns)
        {
            builder.Add(target, [rows, columns], Read(file, source + ".weight", [rows, columns]));
            builder.Add(WeightNames.BiasOf(target), [rows], Read(file, source + ".bias", [rows]));
        }
    }

    /// <summary>The vocabulary size, read off the embedding's shape [vocab, d] (GGUF configs do not state it).</summary>
    private static int VocabFromEmbedding(GgufFile file, int d)
    {
        long[] shape = Info(file, "token_embd.weight").Shape;
        if (shape.Length != 2 || shape[1] != d || shape[0] <= 0 || shape[0] > int.MaxValue)
            throw new ModelFormatException(file.Path, $"tensor 'token_embd.weight' has shape {WeightLayout.FormatShape(shape)} but the config implies [vocab, {d}].");
        return (int)shape[0];
    }

    private static GgufTensorInfo Info(GgufFile file, string name) =>
        file.TryGetTensor(name, out GgufTensorInfo? info) ? info : throw new ModelFormatException(file.Path, $"missing tensor '{name}'.");

    private static float[] Read(GgufFile file, string name, long[] expectedShape)
    {
        GgufTensorInfo info = Info(file, name);
        CheckpointBuilder.ExpectShape(file.Path, name, expectedShape, info.Shape);
        return file.ReadTensorData(info);
    }

    private static int Int(GgufFile file, string key) => ToInt(file, key, file.GetUInt32(key));

    private static int ToInt(GgufFile file, string key, uint value) =>
        value <= int.MaxValue ? (int)value : throw new ModelFormatException(file.Path, $"metadata '{key}' = {value} is too large.");

    private static int TokenId(GgufFile file, string key) =>
        file.TryGetUInt32(key, out uint id) && id < int.MaxValue ? (int)id : -1;
}
