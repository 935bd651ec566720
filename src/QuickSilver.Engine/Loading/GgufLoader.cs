using QuickSilver.Engine.Models;
using QuickSilver.Engine.Quantization;

namespace QuickSilver.Engine.Loading;

/// <summary>
/// Loads GGUF checkpoints (architectures in <see cref="LlamaFamilies"/>, and <c>gpt2</c>) into canonical tensors, dequantizing
/// every type in <see cref="BlockFormats.SupportedTypes"/> and un-interleaving llama q/k rows into rotate-half order (the NEOX-RoPE families are already stored rotate-half). Scalar string metadata (chat template, names, tokenizer
/// model) is copied to <see cref="CheckpointData.Metadata"/>; the vocabulary stays in the file for the tokenizer
/// (read it with <see cref="GgufFile.Read"/>).
/// </summary>
public static partial class GgufLoader
{
    /// <summary>Loads a GGUF file.</summary>
    /// <param name="path">The .gguf file.</param>
    /// <exception cref="ModelFormatException">Missing, corrupt, unsupported architecture or tensor type, or tensors that do not match the metadata.</exception>
    public static CheckpointData Load(string path) => Load(path, keepQuantized: false);

    /// <summary>Loads a GGUF file, optionally keeping Q8_0/Q4_0 matrices in their blocks (<see cref="HostTensor.Packed"/>) for the quantized kernels.</summary>
    /// <param name="path">The .gguf file.</param>
    /// <param name="keepQuantized">Keep Q8_0/Q4_0 matrices of the Llama-shaped families packed instead of decoding them to float32.</param>
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
            "gpt2" => LoadGpt2(file, metadata),
            _ when LlamaFamilies.ContainsKey(architecture) => LoadLlama(file, LlamaFamilies[architecture], metadata, keepQuantized),
            _ => throw new ModelFormatException(path, $"metadata 'general.architecture' is '{architecture}', which is not supported (supported: {string.Join(", ", LlamaFamilies.Keys)}, gpt2)."),
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
